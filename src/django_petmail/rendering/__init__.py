"""Rendering: the sandboxed template engine, context providers, CSS inlining, text parts."""

from .context import (
    ContextProvider,
    build_contexts,
    context_providers,
    register_context_provider,
)

__all__ = ["ContextProvider", "build_contexts", "context_providers", "register_context_provider"]
