"""When to try an API call again: bounded, backed off, and only when it is safe.

Reads are idempotent, so a read that failed in transport (connection refused or dropped,
timeout, HTTP 5xx) is sent again with exponential backoff and jitter, within both a number of
attempts and a total time. Writes are never resent on these terms: the client only resends a
write whose request certainly never left (``request_sent`` is False); anything ambiguous goes
through a read-back first (``lmctl.loadmaster.outcome``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from lmctl.loadmaster.errors import TransportError


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry loop: ``attempts`` in all, none starting after ``deadline`` seconds.

    The wait before retry n is ``backoff * 2**(n-1)`` (capped at ``max_backoff``) plus a random
    jitter of up to ``backoff``, so that clients that failed together do not retry together.
    """

    attempts: int = 4
    deadline: float = 30.0
    backoff: float = 0.5
    max_backoff: float = 8.0

    def retrying(self, logger: logging.Logger, appliance: str, command: str) -> AsyncRetrying:
        """A tenacity loop retrying transport failures of ``command`` (reads only)."""
        return self._loop(logger, appliance, command, _is_transport_failure)

    def unsent_retrying(
        self, logger: logging.Logger, appliance: str, command: str
    ) -> AsyncRetrying:
        """A tenacity loop retrying only failures where the request never left (any command)."""
        return self._loop(logger, appliance, command, _was_never_sent)

    def _loop(
        self,
        logger: logging.Logger,
        appliance: str,
        command: str,
        predicate: Callable[[BaseException], bool],
    ) -> AsyncRetrying:
        def log_retry(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            logger.warning(
                "%s: %s attempt %d failed (%s); retrying in %.2f s",
                appliance,
                command,
                state.attempt_number,
                failure,
                wait,
            )

        return AsyncRetrying(
            stop=stop_after_attempt(max(1, self.attempts)) | stop_before_delay(self.deadline),
            wait=wait_exponential(multiplier=self.backoff, max=self.max_backoff)
            + wait_random(0, self.backoff),
            retry=retry_if_exception(predicate),
            before_sleep=log_retry,
            reraise=True,
        )


def _is_transport_failure(exc: BaseException) -> bool:
    return isinstance(exc, TransportError)


def _was_never_sent(exc: BaseException) -> bool:
    return isinstance(exc, TransportError) and not exc.request_sent
