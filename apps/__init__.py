"""The Streamlit dashboard: one page per domain, thin over the packages."""
