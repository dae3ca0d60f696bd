"""Draw the plot specs a metric card carries (`card["plots"]`, see `core.evaluate`): confusion matrices, curves, bars,
waterfalls."""

from __future__ import annotations

from typing import Any

import streamlit as st

__all__ = ["figure", "render_plots"]


def figure(title: str, spec: dict[str, Any]):
    """A plotly figure for one spec (None for an unknown kind, so an older dashboard skips newer plots)."""
    import plotly.graph_objects as go

    kind = spec.get("kind")
    if kind == "confusion":
        labels = spec["labels"]
        fig = go.Figure(go.Heatmap(z=spec["matrix"], x=labels, y=labels, colorscale="Blues", texttemplate="%{z}",
                                   hovertemplate="true %{y}<br>predicted %{x}<br>%{z}<extra></extra>"))
        fig.update_yaxes(autorange="reversed", title="true")
        fig.update_xaxes(title="predicted")
    elif kind == "curve":
        mode = "lines+markers" if len(spec["x"]) <= 20 else "lines"
        fig = go.Figure()
        band = spec.get("band")
        if band:  # shaded interval: upper edge, then lower edge filled up to it
            fig.add_trace(go.Scatter(x=spec["x"], y=band["upper"], mode="lines", line={"width": 0}, hoverinfo="skip",
                                     showlegend=False))
            fig.add_trace(go.Scatter(x=spec["x"], y=band["lower"], mode="lines", line={"width": 0}, fill="tonexty",
                                     fillcolor="rgba(255,127,14,0.25)", name=band.get("label", "interval")))
        fig.add_trace(go.Scatter(x=spec["x"], y=spec["y"], mode=mode, name=spec.get("name", title)))
        for name, values in (spec.get("lines") or {}).items():
            fig.add_trace(go.Scatter(x=spec["x"], y=values, mode=mode, name=name))
        if spec.get("diagonal"):
            fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "grey"},
                                     name="reference", hoverinfo="skip"))
        fig.update_xaxes(title=spec.get("x_label"))
        fig.update_yaxes(title=spec.get("y_label"))
    elif kind == "bars":
        fig = go.Figure(go.Bar(x=spec["values"], y=spec["labels"], orientation="h"))
        fig.update_yaxes(autorange="reversed", type="category")
        fig.update_xaxes(title=spec.get("value_label"))
    elif kind == "waterfall":
        values, measures = spec["values"], spec["measures"]
        fig = go.Figure(go.Waterfall(orientation="v", measure=measures, x=spec["labels"], y=values,
                                     text=[f"{v:+.0f}" if m == "relative" else f"{v:.0f}" for v, m in zip(values, measures)],
                                     decreasing={"marker": {"color": "#d62728"}}, increasing={"marker": {"color": "#2ca02c"}}))
        steps = [abs(v) for v, m in zip(values, measures) if m == "relative"] or [10.0]
        low = min(v for v, m in zip(values, measures) if m != "relative") - max(steps) - 20  # room below the bars
        fig.update_yaxes(title=spec.get("value_label"), range=[low, None])
    else:
        return None
    fig.update_layout(title=title, height={"bars": max(260, 22 * len(spec.get("labels", [])) + 120), "waterfall": 420}.get(kind, 360),
                      margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      showlegend=bool(spec.get("lines") or spec.get("band")), legend={"orientation": "h"})
    return fig


def render_plots(card: dict[str, Any], key: str) -> int:
    """Draw every plot in the card, two per row; returns how many were drawn.

    `key` names the caller (e.g. "finance.risk-predict"): each chart's widget key starts with it, so two places on
    one page drawing the same card (Predict's evaluation of a labelled table, the Evaluate tab) do not clash."""
    plots = [(title, spec) for title, spec in (card.get("plots") or {}).items() if isinstance(spec, dict)]
    drawn = 0
    for start in range(0, len(plots), 2):
        columns = st.columns(2)
        for column, (title, spec) in zip(columns, plots[start:start + 2]):
            fig = figure(title, spec)
            if fig is None:
                continue
            column.plotly_chart(fig, width="stretch", key=f"plot-{key}-{card.get('task')}-{title}")
            if spec.get("note"):
                column.caption(spec["note"])
            drawn += 1
    return drawn
