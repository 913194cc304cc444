"""One function per command or query of the leads service; each receives a ``Ctx``."""
