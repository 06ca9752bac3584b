"""Errors that name the publisher, the dataset and the problem."""

from __future__ import annotations


class PublisherError(Exception):
    """A publisher's response could not be used. `transient` says whether trying later may help."""

    transient = False

    def __init__(self, publisher: str, dataset: str, problem: str) -> None:
        self.publisher = publisher
        self.dataset = dataset
        self.problem = problem
        super().__init__(f"{publisher} / {dataset}: {problem}")


class PublisherFormatError(PublisherError):
    """The body is not what the publisher documents (HTML page, missing column, short page...)."""


class PublisherHTTPError(PublisherError):
    """The publisher answered with an error status after the retry budget was spent."""

    def __init__(self, publisher: str, dataset: str, problem: str, status: int) -> None:
        self.status = status
        self.transient = status == 429 or status >= 500
        super().__init__(publisher, dataset, problem)


class PublisherUnreachable(PublisherError):
    """No answer at all: DNS, refused connection, timeouts, resets, after the retry budget."""

    transient = True

    def __init__(self, publisher: str, dataset: str, host: str, reason: str) -> None:
        self.host = host
        super().__init__(publisher, dataset, f"could not reach {host} ({reason})")
