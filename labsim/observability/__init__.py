"""Operating an event-driven system: dashboard signals, alert rules as data, tracing (lesson 13).

Everything here reads a run's frames (layer 3, beside ``checks`` and ``plots``):

* :func:`dashboard_metrics` samples the dashboard's signals (lag per partition, dead-letter
  depth, processing-time percentiles, consumer utilisation, saga states, read-model age);
* :class:`AlertRule` is an alert as data (YAML-able: :meth:`AlertRule.from_dict`);
  :func:`evaluate` says when it fired and :func:`score_alerts` how long after each fault
  (detection delay) and how often with no fault active (false alarms);
* :func:`plot_dashboard` draws the dashboard; :func:`order_trace` and :func:`draw_trace` follow
  one order across the services by its correlation id.
"""

from labsim.observability.alerts import OPS, AlertRule, evaluate, score_alerts
from labsim.observability.dashboard import plot_dashboard
from labsim.observability.signals import dashboard_metrics, saga_spans, signal_summary
from labsim.observability.tracing import draw_trace, order_trace

__all__ = [
    "OPS",
    "AlertRule",
    "dashboard_metrics",
    "draw_trace",
    "evaluate",
    "order_trace",
    "plot_dashboard",
    "saga_spans",
    "score_alerts",
    "signal_summary",
]
