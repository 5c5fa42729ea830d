"""Durable orchestrator blueprints: deterministic code only, no I/O (see docs/design/pipeline-runtime.md)."""
