"""Domain errors. The CLI and the API translate these at the edge; nothing else should."""


class MatcherError(Exception):
    """Base class of every error a user may see as a one-line message."""


class NotFound(MatcherError):
    """A requested organisation, challenge, project or file does not exist."""


class InvalidInput(MatcherError):
    """Input that fails validation (empty text, unknown kind, bad row...)."""


class Conflict(MatcherError):
    """A write that clashes with stored state (duplicate key, stale version)."""


class Forbidden(MatcherError):
    """The caller may not see or change this."""


class IndexMismatch(MatcherError):
    """A saved index or vector set was made by another model or another database."""


class NotFittedError(MatcherError, ValueError):
    """A fitted component was used before ``fit``."""
