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
    pose_frames: int | None = typer.Option(
        None,
        "--pose-frames",
        help="Frames per ego-pose file, for small fixtures (e.g. 8); the number of takes with pose is "
        "unchanged. Default: the published frames per file (docs/demo-volume.md), every frame of the "
        "take in camera-pose files, written on all cores.",
        show_default=False,
    ),
    pose_volume: float = typer.Option(
        1.0,
        "--pose-volume",
        help="Multiply the published frames per body/hand file (without --pose-frames). For N/2N/4N "
        "pose bytes use --scale 1/2/4 --only ego_pose instead, which multiplies every pose file.",
    ),
    masks_per_object: int | None = typer.Option(
        None,
        "--masks-per-object",
        help="Masks per object and camera in the relations files, for small fixtures (e.g. 3). "
        "Default: the published 2.2M masks over 1,653 takes.",
        show_default=False,
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        help="Processes writing the ego-pose files (default: the usable cores).",
        show_default=False,
    ),
    trajectory_hz: float = typer.Option(
        1000.0,
        "--trajectory-hz",
        help="Sample rate of the MPS trajectories: the real 1000 by default, e.g. 10 for small fixtures "
        "(eye gaze is written at its real 10 Hz).",
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
    videos: bool = typer.Option(
        False,
        "--videos",
        help="Also write small real H.264 videos (the take second drawn into each frame) for a few takes "
        "where the downloader puts them: the best exo camera, the ego camera downscaled and the "
        "collage, to try the player of `egoexo-sql serve`. Needs PyAV and Pillow "
        "(pip install 'egoexo-sql\\[videos]').",
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
        pose_volume=pose_volume,
        workers=workers,
        videos=videos,
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
