"""Readers and validators shared by the domains: tables (polars), image folders, safe manifest paths."""

from core.data.images import IMAGE_SUFFIXES, list_image_folder, open_image, read_image_manifest
from core.data.paths import resolve_inside, sniff_kind
from core.data.tables import read_table, require_columns, scan_table
from core.data.text import read_json, read_lines, read_text, read_text_inputs, text_input_batches

__all__ = ["read_table", "scan_table", "require_columns", "resolve_inside", "sniff_kind", "list_image_folder",
           "read_image_manifest", "open_image", "IMAGE_SUFFIXES", "read_text", "read_lines", "read_text_inputs", "text_input_batches", "read_json"]
