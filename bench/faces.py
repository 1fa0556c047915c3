"""Face pipeline timings on this machine, pinned to one core: `.venv/bin/python bench/faces.py`.

Prints seconds per descriptor for each extractor version, detection + alignment for the astronaut
photo (512×512) and for a 2048×2048 copy of it, and how often the event loop gets to run while a
descriptor is computed in a thread versus in the worker process.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from PIL import Image
from skimage import data as skdata

from consumers import detect, dlib_models
from consumers.extractor import CURRENT_VERSION, EXTRACTORS
from consumers.face_worker import FaceWorker
from consumers.samples import Sample, decode_rgb


def png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def per_call(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


async def loop_ticks(work: Callable[[], Awaitable[object]]) -> tuple[int, float]:
    """How many times a 1 ms timer fires on the loop while `work` runs."""
    ticks, done = 0, False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            await asyncio.sleep(0.001)  # the thing measured: timer latency under load
            ticks += 1

    task = asyncio.create_task(ticker())
    start = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - start
    done = True
    await task
    return ticks, elapsed


async def responsiveness(sample: Sample) -> None:
    extractor = EXTRACTORS[CURRENT_VERSION]

    async def in_thread() -> None:
        for _ in range(10):
            await asyncio.to_thread(extractor.descriptor, sample)

    async with FaceWorker(workers=1) as faces:
        async def in_process() -> None:
            for _ in range(10):
                await faces.descriptor(CURRENT_VERSION, sample)

        for name, work in (("asyncio.to_thread", in_thread), ("FaceWorker process", in_process)):
            ticks, elapsed = await loop_ticks(work)
            print(f"loop ticks during 10 descriptors via {name}: {ticks} in {elapsed:.2f} s "
                  f"(about {int(elapsed * 1000)} if the loop were free)")


def main() -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    start = time.perf_counter()
    dlib_models.warm()
    print(f"model load: {time.perf_counter() - start:.2f} s")
    astronaut = Image.fromarray(skdata.astronaut())
    photo, big = png(astronaut), png(astronaut.resize((2048, 2048)))
    rgb, big_rgb = decode_rgb(photo), decode_rgb(big)
    sample = detect.sample_from_photo(photo)
    for name, fn in (("detect+align astronaut 512x512", lambda: detect.align(rgb, detect.largest_face(rgb))),
                     ("decode+detect+align PNG 512x512", lambda: detect.sample_from_photo(photo)),
                     ("detect+align 2048x2048 (shrunk to 1024 to detect)",
                      lambda: detect.align(big_rgb, detect.largest_face(big_rgb)))):
        median, best = per_call(fn, 10)
        print(f"{name}: median {median:.3f} s, best {best:.3f} s")
    for version, extractor in EXTRACTORS.items():
        median, best = per_call(lambda e=extractor: e.descriptor(sample), 20)  # type: ignore[misc]
        print(f"descriptor {version}: median {median:.3f} s, best {best:.3f} s")
    asyncio.run(responsiveness(sample))


if __name__ == "__main__":
    main()
