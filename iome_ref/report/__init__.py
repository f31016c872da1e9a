"""The security report: one run of vectors, state machines, adversaries, observer and benchmark
written as JSON, HTML, Markdown, JUnit and SARIF (issue 17). The top layer below the CLI."""
