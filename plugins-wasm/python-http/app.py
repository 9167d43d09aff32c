"""http_py: an hbc plugin in Python (contract 0.3.0): requests `url` through the host's
`http` and reports the status and how long the answer took; CRITICAL for a status of
400 or more, or a body without `expect`. The agent lets it reach only what it is
granted (`net`).

Build: componentize-py -d ../../plugin-sdk/wit-0.3 -w plugin componentize app -o http_py.wasm
"""
from typing import List, Tuple

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types


def _text(config: List[Tuple[str, str]], key: str, default: str) -> str:
    return next((v for k, v in config if k == key), default)


def _why(error: host.NetError) -> str:
    """A network error (a value) in words."""
    if isinstance(error, host.NetError_Timeout):
        return "no answer in time"
    name = type(error).__name__.removeprefix("NetError_")
    return f"{name}: {error.value}"


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            name="http_py",
            kind=types.PluginKind.MONITOR,
            default_interval_s=60,
            version="0.1.0",
            description="an HTTP endpoint's status and latency (written in Python)",
        )

    def collect(self, config: List[Tuple[str, str]]) -> types.Report:
        url = _text(config, "url", "")
        if not url:
            raise Err("config url is required")
        request = host.HttpRequest(
            method="GET",
            url=url,
            headers=[("user-agent", "hbc http_py")],
            body=None,
            timeout_ms=int(_text(config, "timeout_ms", "10000")),
            max_body_bytes=1 << 20,
            verify_tls=True,
        )
        try:
            answer = host.http(request)
        except Err as e:
            if isinstance(e.value, (host.NetError_NotGranted, host.NetError_Dns)):
                raise Err(_why(e.value))
            return types.Report(
                metrics=[],
                status=types.Status.CRITICAL,
                message=f"{url}: {_why(e.value)}",
            )
        metrics = [
            types.Metric(path=["status_code"], value=types.Value_Int(answer.status)),
            types.Metric(path=["response_ms"], value=types.Value_Int(answer.elapsed_ms)),
        ]
        expect = _text(config, "expect", "")
        body = bytes(answer.body).decode("utf-8", "replace")
        if answer.status >= 400:
            status, message = types.Status.CRITICAL, f"{url} answered {answer.status}"
        elif expect and expect not in body:
            status, message = types.Status.CRITICAL, f"{url}: {expect!r} not in the body"
        else:
            status = types.Status.OK
            message = f"{url} answered {answer.status} in {answer.elapsed_ms} ms"
        return types.Report(metrics=metrics, status=status, message=message)
