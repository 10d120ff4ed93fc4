"""The ``dmproto`` command: an application built on the public API.

This package is the only place under ``dmproto/`` allowed to do I/O (files,
stdin/stdout, sockets through the adapters, SQLite, the clock). Each subcommand
group lives in its own module exposing ``register(subparsers)``.
"""
