"""findings.sarif: the findings as SARIF 2.1.0, for code-scanning tools.

One run of the tool ``iome report``; one result per finding, its ``ruleId`` the requirement
id, located at the finding's replay scenario (a path relative to the report folder);
one rule per requirement id the results name, its help text the rule's sentences in spec/.
Built with sarif-pydantic; the tests validate the file against the official schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sarif_pydantic import (
    ArtifactLocation,
    Location,
    Message,
    PhysicalLocation,
    ReportingDescriptor,
    Result,
    Run,
    Sarif,
    Tool,
    ToolDriver,
)

from iome_ref.report.model import SecurityReport
from iome_ref.vectors.spec_index import Requirement

__all__ = ["render_sarif"]

_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"


def _rule(req_id: str, requirement: Requirement | None) -> ReportingDescriptor:
    if requirement is None:
        return ReportingDescriptor(id=req_id, short_description=Message(text=req_id))
    return ReportingDescriptor(
        id=req_id,
        name=req_id.replace("-", ""),
        short_description=Message(text=requirement.title),
        full_description=Message(text=requirement.text),
        help=Message(
            text=f"{requirement.text} (spec/{requirement.file}; source: {requirement.source})"
        ),
        properties={"specFile": f"spec/{requirement.file}"},
    )


def render_sarif(report: SecurityReport, requirements: Mapping[str, Requirement]) -> str:
    """The file's text."""
    named = sorted({finding.requirement_id for finding in report.findings})
    index = {req_id: position for position, req_id in enumerate(named)}
    results = []
    for finding in report.findings:
        locations = None
        if finding.replay is not None:
            locations = [
                Location(
                    physical_location=PhysicalLocation(
                        artifact_location=ArtifactLocation(uri=finding.replay)
                    )
                )
            ]
        text = f"{finding.requirement_id} ({finding.title}) violated: {finding.detail}"
        if finding.command:
            text += f". Replay: {finding.command}"
        results.append(
            Result(
                rule_id=finding.requirement_id,
                rule_index=index[finding.requirement_id],
                level=finding.level,
                message=Message(text=text),
                locations=locations,
                partial_fingerprints={"findingId": finding.id},
                properties={"source": finding.source, "seed": finding.seed},
            )
        )
    sarif = Sarif(
        schema_uri=_SCHEMA,
        runs=[
            Run(
                tool=Tool(
                    driver=ToolDriver(
                        name="iome report",
                        version=report.generator.removeprefix("iome "),
                        rules=[_rule(req_id, requirements.get(req_id)) for req_id in named],
                    )
                ),
                results=results,
                properties={"impl": report.impl, "seed": report.seed, "profile": report.profile},
            )
        ],
    )
    dumped: str = sarif.model_dump_json(by_alias=True, exclude_none=True, indent=1)
    return dumped + "\n"
