"""The custom-resource answer shared by the handlers: CloudFormation hears exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from baseline.handlers import cfn_response

EVENT = {"RequestType": "Create", "ResourceProperties": {}}


class Answers:
    """``send_response``: records each answer, and raises on the first when told to."""

    def __init__(self, fail_first: Exception | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.fail_first = fail_first

    def __call__(self, event: dict[str, Any], status: str, **kwargs: Any) -> None:
        self.sent.append((status, kwargs))
        if self.fail_first is not None and len(self.sent) == 1:
            raise self.fail_first


def test_an_answer_that_raises_is_not_followed_by_a_failed_one() -> None:
    """S3 may have stored the SUCCESS whose reply timed out: a FAILED after it would
    overwrite it. The error goes to the function's log and dead-letter queue instead."""
    answers = Answers(fail_first=TimeoutError("The read operation timed out"))
    with pytest.raises(TimeoutError):
        cfn_response.handle(EVENT, lambda: {"done": 1}, answers)
    assert answers.sent == [("SUCCESS", {})]


def test_attributes_that_cannot_be_sent_fail_the_request_once() -> None:
    answers = Answers()
    cfn_response.handle(EVENT, lambda: cfn_response.ResponseData(id=object()), answers)  # type: ignore[call-overload]
    ((status, kwargs),) = answers.sent
    assert status == "FAILED" and kwargs["reason"].startswith("TypeError: ")


def test_a_failure_is_answered_once_with_its_reason() -> None:
    answers = Answers()

    def fail() -> None:
        raise RuntimeError("denied")

    cfn_response.handle(EVENT, fail, answers)
    assert answers.sent == [("FAILED", {"reason": "RuntimeError: denied"})]


def test_attributes_go_back_and_a_continued_request_is_left_to_the_next_invocation() -> None:
    answers = Answers()
    cfn_response.handle(EVENT, lambda: cfn_response.ResponseData(GroupId="g-1"), answers)
    cfn_response.handle(EVENT, lambda: cfn_response.CONTINUED, answers)
    cfn_response.handle({**EVENT, "RequestType": "Delete"}, pytest.fail, answers)
    assert answers.sent == [("SUCCESS", {"data": {"GroupId": "g-1"}}), ("SUCCESS", {})]
