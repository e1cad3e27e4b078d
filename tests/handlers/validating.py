"""Fake AWS clients behind botocore's own validation of the service model.

A test's fake answers a handler's calls, but every call first goes through what a real
boto3 client checks: the operation must exist in the service's model, its parameters must
validate against the operation's input shape (names, types, required members), and the
fake's answer must validate against the output shape. A misspelt operation, a wrong
parameter name or a response key the real service never sends fails the test, as it
would fail in AWS. The Lambda runtime's boto3 and the botocore installed here share the
same service models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import botocore
import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import ParamValidator


@cache
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


class Validated:
    """``fake`` as the handler sees it: only real operations, validated both ways."""

    def __init__(self, service: str, fake: Any) -> None:
        self._service = service
        self._fake = fake
        model = _model(service)
        self._operations = {botocore.xform_name(op): op for op in model.operation_names}

    @property
    def exceptions(self) -> Any:
        """The fake's exception classes (the handler catches these by name)."""
        return self._fake.exceptions

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in self._operations:
            raise AttributeError(f"{self._service} has no operation {name!r}")
        operation = _model(self._service).operation_model(self._operations[name])
        answer = getattr(self._fake, name)

        def call(**kwargs: Any) -> Any:
            report = ParamValidator().validate(kwargs, operation.input_shape)
            if report.has_errors():
                raise ParamValidationError(report=report.generate_report())
            response = answer(**kwargs)
            if response is not None and operation.output_shape is not None:
                checked = ParamValidator().validate(response, operation.output_shape)
                if checked.has_errors():
                    raise AssertionError(
                        f"the fake's answer to {self._service}.{name} is not what the "
                        f"service returns: {checked.generate_report()}"
                    )
            return response

        return call


def validated(clients: Mapping[str, Any]) -> Callable[..., Validated]:
    """A client factory, ``(service, region=None)``, over fakes keyed by service."""

    def factory(service: str, region: str | None = None) -> Validated:
        return Validated(service, clients[service])

    return factory
