"""Dashboard entry point: `streamlit run apps/main.py` (or `verticals app`)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Streamlit puts this script's folder first on sys.path, where apps/finance.py would shadow the finance package:
# the repository root goes first and apps/ is reached only as the `apps` package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if p and Path(p).resolve() not in (ROOT, ROOT / "apps")]

import streamlit as st  # noqa: E402

st.set_page_config(page_title="Verticals", layout="wide")
HERE = Path(__file__).parent
PAGES = [("home.py", "Home", ":material/home:"), ("nlp.py", "NLP", ":material/translate:"),
         ("vision.py", "Vision", ":material/image:"), ("speech.py", "Speech", ":material/mic:"),
         ("finance.py", "Finance", ":material/trending_up:"), ("medical.py", "Medical", ":material/medical_services:"),
         ("registry.py", "Models", ":material/inventory_2:")]
pages = [st.Page(str(HERE / file), title=title, icon=icon, default=file == "home.py")
         for file, title, icon in PAGES if (HERE / file).exists()]
st.navigation(pages).run()
