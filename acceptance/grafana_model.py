"""Checks a dashboard JSON document against Grafana's dashboard model, as the grafana-foundation-sdk
Python package types it (the 11.6 build: `grafana_foundation_sdk.models.dashboard.Dashboard`, and the
panel and Prometheus query models its `cog` runtime decodes per panel and data source type; the SDK
generates them from Grafana's own schemas, grafana/grafana-foundation-sdk `README.md`).

No Grafana server can run here (not in Debian, and AGPL), so a dashboard is decoded with the SDK's
`Dashboard.from_json` (the decoding Grafana's Go and TypeScript SDKs share) and then:

* every value must have the type the model's annotations give it (an enum's value among its
  members, a list where a list is expected, a panel option of its plugin's type);
* nothing may be lost when the decoded model is encoded again: a key the model does not know
  (a typo such as `gridpos`, an option of another panel type) is reported with its path;
* every target must decode as a query of a known data source type (here `prometheus`).
"""
import enum
import json
import types
import typing

from grafana_foundation_sdk.cog import encoder, plugins, runtime, variants
from grafana_foundation_sdk.models import dashboard as dashboard_model

plugins.register_default_plugins()


def validate(document):
    """The problems of one dashboard (a dict parsed from JSON), each naming its path; [] when valid."""
    errors = []
    try:
        model = dashboard_model.Dashboard.from_json(document)
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        return [f"$: does not decode as a Grafana dashboard: {type(e).__name__}: {e}"]
    _check_object(model, "$", errors)
    encoded = json.loads(json.dumps(model, cls=encoder.JSONEncoder))
    _lost_keys(document, encoded, "$", errors)
    return errors


def _is_model(value):
    return callable(getattr(value, "to_json", None)) and type(value).__module__.startswith("grafana_foundation_sdk")


def _check_object(obj, path, errors):
    if isinstance(obj, runtime.UnknownDataquery):
        errors.append(f"{path}: a query of no data source type the model knows (set the panel's datasource type)")
        return
    hints = typing.get_type_hints(type(obj))
    for name, hint in hints.items():
        _check(getattr(obj, name, None), hint, f"{path}.{name}", errors)


def _check(value, hint, path, errors):
    problem = _mismatch(value, hint, path, errors)
    if problem:
        errors.append(f"{path}: {problem}")


def _mismatch(value, hint, path, errors):
    """None when `value` fits `hint` (recursing into models, lists and dicts), else what is wrong."""
    if hint in (typing.Any, object):
        if _is_model(value):
            _check_object(value, path, errors)
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None if type(None) in args else "required, got null"
        arms = [a for a in args if a is not type(None)]
        # The arm the decoder chose (a Panel, a RowPanel) is the one to report on.
        chosen = [a for a in arms if isinstance(a, type) and isinstance(value, a)]
        if len(arms) == 1 or chosen:
            return _mismatch(value, (chosen or arms)[0], path, errors)
        for arg in arms:
            trial = []
            if _mismatch(value, arg, path, trial) is None and not trial:
                return _mismatch(value, arg, path, errors)
        return f"{json.dumps(value, cls=encoder.JSONEncoder)[:80]} is none of {[getattr(a, '__name__', str(a)) for a in arms]}"
    if value is None:
        return "required, got null"
    if origin is list:
        if not isinstance(value, list):
            return f"expected a list, got {type(value).__name__}"
        for i, item in enumerate(value):
            _check(item, args[0] if args else typing.Any, f"{path}[{i}]", errors)
        return None
    if origin is dict:
        if not isinstance(value, dict):
            return f"expected an object, got {type(value).__name__}"
        for key, item in value.items():
            _check(item, args[1] if len(args) > 1 else typing.Any, f"{path}.{key}", errors)
        return None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = [m.value for m in hint]
        return None if (value if not isinstance(value, enum.Enum) else value.value) in allowed else f"{value!r} is not one of {allowed}"
    if hint is bool:
        return None if isinstance(value, bool) else f"expected a boolean, got {value!r}"
    if hint is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else f"expected an integer, got {value!r}"
    if hint is float:
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else f"expected a number, got {value!r}"
    if hint is str:
        return None if isinstance(value, str) else f"expected a string, got {value!r}"
    if isinstance(hint, type) and issubclass(hint, variants.Dataquery):
        if not isinstance(value, variants.Dataquery):
            return f"expected a query, got {type(value).__name__}"
        _check_object(value, path, errors)
        return None
    if isinstance(hint, type) and isinstance(value, dict) and callable(getattr(hint, "from_json", None)):
        # Left undecoded by the SDK's decoder (a panel's transformations): decode it here.
        try:
            decoded = hint.from_json(value)
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            return f"does not decode as {hint.__name__}: {type(e).__name__}: {e}"
        _check_object(decoded, path, errors)
        _lost_keys(value, json.loads(json.dumps(decoded, cls=encoder.JSONEncoder)), path, errors)
        return None
    if isinstance(hint, type):
        if not isinstance(value, hint):
            return f"expected {hint.__name__}, got {type(value).__name__}"
        if _is_model(value):
            _check_object(value, path, errors)
        return None
    return None


def _lost_keys(original, encoded, path, errors):
    if isinstance(original, dict):
        if not isinstance(encoded, dict):
            errors.append(f"{path}: the model reads it as {type(encoded).__name__}")
            return
        for key, value in original.items():
            if key not in encoded:
                errors.append(f"{path}.{key}: not a field of Grafana's dashboard model here")
            else:
                _lost_keys(value, encoded[key], f"{path}.{key}", errors)
    elif isinstance(original, list) and isinstance(encoded, list):
        for i, (a, b) in enumerate(zip(original, encoded)):
            _lost_keys(a, b, f"{path}[{i}]", errors)
