"""The per-call options of one generated method call, checked once when the call is made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import ArgumentTypeError
from ._types import NOT_GIVEN, RAW_OPTION, NotGiven, Timeout

__all__ = ["RequestOptions"]


class RequestOptions:
    """Per-call overrides of one generated method call (see :class:`~audian_async.CallOptions`).

    ``raw`` is set by ``with_raw_response``: the call returns an
    :class:`~audian_async.APIResponse` instead of its typed result.
    """

    __slots__ = (
        "deadline",
        "envelope",
        "extra_body",
        "extra_headers",
        "extra_query",
        "max_retries",
        "raw",
        "timeout",
        "validate",
    )

    def __init__(
        self,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | Timeout | NotGiven | None = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        validate: bool | None = None,
        envelope: Mapping[str, Any] | None = None,
        max_retries: int | NotGiven = NOT_GIVEN,
        raw: bool = False,
    ) -> None:
        self.extra_headers = extra_headers
        self.extra_query = extra_query
        self.extra_body = extra_body
        self.timeout = timeout
        self.deadline = deadline
        self.validate = validate  # None: the client's setting; False skips body validation
        # Top-level keys beside `data` in a Kazoo request (`{"accept_charges": true}`).
        self.envelope = envelope
        self.max_retries = max_retries
        self.raw = raw

    @classmethod
    def of_call(
        cls, given: Mapping[str, Any], envelope: Mapping[str, Any] | None = None
    ) -> RequestOptions:
        """The options of a call's keyword arguments (``**options`` of a generated method).

        Raises:
            TypeError: an argument that is no per-call option (a misspelt keyword).
            ArgumentTypeError: ``deadline`` or ``max_retries`` of the wrong type.
        """
        unknown = given.keys() - _OPTION_NAMES
        if unknown:
            name = sorted(unknown)[0]
            raise TypeError(
                f"unexpected keyword argument {name!r} (the per-call options are "
                + ", ".join(sorted(_OPTION_NAMES - {RAW_OPTION}))
                + ")"
            )
        deadline = given.get("deadline", NOT_GIVEN)
        if (
            deadline is not NOT_GIVEN
            and deadline is not None
            and (
                isinstance(deadline, bool) or not isinstance(deadline, int | float) or deadline <= 0
            )
        ):
            raise ArgumentTypeError(
                "deadline", "type", f"must be a number of seconds > 0 or None, not {deadline!r}"
            )
        max_retries = given.get("max_retries", NOT_GIVEN)
        if max_retries is not NOT_GIVEN and (
            isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0
        ):
            raise ArgumentTypeError(
                "max_retries", "type", f"must be a whole number >= 0, not {max_retries!r}"
            )
        return cls(
            given.get("extra_headers"),
            given.get("extra_query"),
            given.get("extra_body"),
            given.get("timeout", NOT_GIVEN),
            deadline,
            given.get("validate"),
            envelope,
            max_retries,
            bool(given.get(RAW_OPTION, False)),
        )

    def without_query(self) -> RequestOptions:
        """These options without ``extra_query`` (already merged into a paginator's query)."""
        return RequestOptions(
            self.extra_headers,
            None,
            self.extra_body,
            self.timeout,
            self.deadline,
            self.validate,
            self.envelope,
            self.max_retries,
            self.raw,
        )


_OPTION_NAMES = frozenset(
    {
        "deadline",
        "timeout",
        "max_retries",
        "extra_headers",
        "extra_query",
        "extra_body",
        "validate",
        RAW_OPTION,
    }
)
