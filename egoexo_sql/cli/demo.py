"""`egoexo-sql demo`: write a synthetic release."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import app


@app.command()
def demo(
    out_dir: Path = typer.Argument(..., help="Folder to write the release into (created if missing)."),
    scale: float = typer.Option(
        0.05,
        "--scale",
        help="1 reproduces the published Ego-Exo4D v2 counts (5,035 takes); counts scale linearly.",
    ),
    seed: int = typer.Option(0, "--seed", help="The same seed gives byte-identical files."),
    only: list[str] | None = typer.Option(
        None,
        "--only",
        help="Write only these groups (repeat the option or give several after one --only): metadata splits keystep "
        "proficiency atomic commentary relations ego_pose transcripts manifests trajectory eye_gaze timesync "
        "calibration point_cloud. Default: all.",
    ),
    pose_frames: int = typer.Option(
        8,
        "--pose-frames",
        help="Frames per ego-pose file (caps ego-pose volume; the number of takes with pose is unchanged).",
    ),
    masks_per_object: int = typer.Option(
        3, "--masks-per-object", help="Masks per object and camera in the relations files (caps mask volume)."
    ),
    trajectory_hz: float = typer.Option(
        10.0,
        "--trajectory-hz",
        help="Sample rate of the MPS trajectories (the real rate is 1000; eye gaze is written at its real 10 Hz).",
    ),
    stats: bool = typer.Option(
        True, "--stats/--no-stats", help="Print the counts next to the published ones."
    ),
    variants: bool = typer.Option(
        False,
        "--variants",
        help="Also write every form the real release files are known to take besides the documented "
        "one (numbers as strings, lists as literals in strings, other key spellings, ...; "
        "docs/real-data-variants.md), mixed within files as the real ones are. Same values as "
        "without it, so both build the same catalog.",
    ),
) -> None:
    """Write a synthetic Ego-Exo4D release with the real layout, keys, types and quirks."""
    from ..demo.generator import generate

    groups = _split_groups(only)
    progress = None
    import sys

    if sys.stderr.isatty():

        def progress(step: str) -> None:
            typer.echo(f"  writing {step} ...", err=True)

    report = generate(
        out_dir,
        scale=scale,
        seed=seed,
        only=groups,
        pose_frames=pose_frames,
        masks_per_object=masks_per_object,
        progress=progress,
        variants=variants,
        trajectory_hz=trajectory_hz,
    )
    if stats:
        typer.echo(report.summary())
    else:
        typer.echo(report.summary().splitlines()[0])


def _split_groups(only: list[str] | None) -> list[str] | None:
    if not only:
        return None
    out: list[str] = []
    for item in only:
        out.extend(x for x in item.replace(",", " ").split() if x)
    return out
