"""The scriptable CLI: `wadesk list|show|reply|template|note|assign|resolve [--json] [--hub URL]`.

For admins over SSH, automation, and screen-reader users who want linear text (docs/cli.md). Every
command is a call on the hub's API through its client (backends/hub/client.py), against a hub, the
running desk's socket, or the data directory opened by the command itself (cli.targets). Never
Textual (an import-linter contract).

- args: the subcommands on `wadesk`'s parser
- main: runs one, turning every refusal into a sentence and an exit code
- commands: each command as API calls, and the wait for a send's outcome
- render: the text and JSON they print
- targets: a hub, the running desk's socket, or the data directory alone
"""
