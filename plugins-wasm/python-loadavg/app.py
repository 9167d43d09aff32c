"""loadavg_py: an hbc plugin in Python. Load averages per CPU from /proc/loadavg and
/proc/cpuinfo (both must be granted), WARNING/CRITICAL above `warning` / `critical`
(load per CPU, defaults 1.0 and 2.0). `loadavg` and `cpuinfo` name other files to read
(tests point them at fixtures; they must be granted too).

Build: componentize-py -d ../../plugin-sdk/wit -w plugin componentize app -o loadavg_py.wasm
"""
from typing import List, Tuple

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types


def _text(config: List[Tuple[str, str]], key: str, default: str) -> str:
    return next((v for k, v in config if k == key), default)


def _setting(config: List[Tuple[str, str]], key: str, default: float) -> float:
    for k, v in config:
        if k == key:
            try:
                return float(v)
            except ValueError:
                raise Err(f"config {key}: {v!r} is not a number")
    return default


def _why(error: host.FsError) -> str:
    """A file error (contract 0.2: a value, not text) in words."""
    if isinstance(error, host.FsError_NotGranted):
        return "not granted to this plugin (grant it in wasm_plugins)"
    if isinstance(error, host.FsError_TooLarge):
        return f"too large ({error.value} bytes)"
    if isinstance(error, host.FsError_Io):
        return error.value
    # The other cases carry no value: their class name says it (FsError_NotFound).
    return type(error).__name__.removeprefix("FsError_")


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            name="loadavg_py",
            kind=types.PluginKind.MONITOR,
            default_interval_s=60,
            version="0.1.0",
            description="load averages per CPU (written in Python)",
        )

    def collect(self, config: List[Tuple[str, str]]) -> types.Report:
        warning = _setting(config, "warning", 1.0)
        critical = _setting(config, "critical", 2.0)
        try:
            fields = host.read_file(_text(config, "loadavg", "/proc/loadavg")).split()
            cpuinfo = host.read_file(_text(config, "cpuinfo", "/proc/cpuinfo"))
            cpus = sum(1 for line in cpuinfo.splitlines() if line.startswith("processor"))
        except Err as e:
            raise Err(f"cannot read /proc: {_why(e.value)}")
        cpus = max(cpus, 1)
        load1, load5, load15 = (float(x) for x in fields[:3])
        per_cpu = load5 / cpus
        if per_cpu > critical:
            status = types.Status.CRITICAL
        elif per_cpu > warning:
            status = types.Status.WARNING
        else:
            status = types.Status.OK
        host.log(host.Level.DEBUG, f"load5 {load5} on {cpus} cpus")
        metric = lambda path, value: types.Metric(path=path, value=value)
        return types.Report(
            metrics=[
                metric(["load", "1min"], types.Value_Float(load1)),
                metric(["load", "5min"], types.Value_Float(load5)),
                metric(["load", "15min"], types.Value_Float(load15)),
                metric(["cpus"], types.Value_Int(cpus)),
                metric(["load_per_cpu"], types.Value_Float(round(per_cpu, 3))),
            ],
            status=status,
            message=f"load {load5:.2f} on {cpus} CPUs",
        )
