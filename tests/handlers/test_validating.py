"""The validating wrapper refuses what a real boto3 client would refuse."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

from tests.handlers.validating import Validated


def test_the_validation_refuses_what_a_real_client_would() -> None:
    class Fake:
        exceptions = None

        def list_roots(self, **kwargs: Any) -> dict[str, Any]:
            return {"Roots": [{"Id": "r-ab12", "Invented": True}]}

        def enable_policy_type(self, **kwargs: Any) -> dict[str, Any]:
            return {}

    client = Validated("organizations", Fake())
    with pytest.raises(AttributeError, match="no operation 'enable_policy_types'"):
        client.enable_policy_types(RootId="r-ab12", PolicyType="TAG_POLICY")
    with pytest.raises(ParamValidationError, match="PolicyTypes"):
        client.enable_policy_type(RootId="r-ab12", PolicyTypes="TAG_POLICY")
    with pytest.raises(AssertionError, match="Invented"):
        client.list_roots()
