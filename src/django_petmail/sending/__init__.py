"""Sending: message building, unsubscribe headers, fan-out and batch dispatch."""
