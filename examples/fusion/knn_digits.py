"""A handwritten digit classifier written in Python: a modality processor for the fusion engine.

    python3 examples/fusion/knn_digits.py --data .cache/fusion/knn/train.json --name digit-knn
    noodled fuse processors add digits image-knn --service digit-knn --modality image \\
        --media-type image/x-portable-graymap

It answers the processor contract (docs/fusion.md): the input is a binary PGM
(P5) of 8x8 pixels, the answer {"scores": [...]}, the share of the k nearest
training images (Euclidean, on the 0-16 ink scale) of each digit, smoothed so no
digit scores 0. These shares are not probabilities: register it without
--calibrated, and `noodled fuse calibrate` fits them. Standard library only.
"""
import argparse
import json

import noodle


class InvalidImageError(Exception):
    pass


def read_pgm(data: bytes) -> list:
    """The 64 pixels of an 8x8 binary PGM, on the 0-16 scale."""
    if not data.startswith(b"P5"):
        raise InvalidImageError("expected a binary PGM (P5) of 8x8 pixels")
    fields, at = [], 2
    while len(fields) < 3:
        while at < len(data) and data[at:at + 1].isspace():
            at += 1
        start = at
        while at < len(data) and data[at:at + 1].isdigit():
            at += 1
        if start == at:
            raise InvalidImageError("malformed PGM header")
        fields.append(int(data[start:at]))
    width, height, maxval = fields
    raster = data[at + 1:]
    if width != 8 or height != 8 or not 0 < maxval < 256 or len(raster) != 64:
        raise InvalidImageError("expected a binary PGM (P5) of 8x8 pixels")
    return [v * 16.0 / maxval for v in raster]


class Knn:
    def __init__(self, path: str) -> None:
        with open(path) as f:
            data = json.load(f)
        self.k = int(data["k"])
        self.examples = [(int(e[0]), e[1:]) for e in data["examples"]]

    def scores(self, x: list) -> list:
        nearest = []  # (distance, label), the k smallest
        for label, e in self.examples:
            d = 0.0
            for a, b in zip(x, e):
                d += (a - b) * (a - b)
            if len(nearest) < self.k:
                nearest.append((d, label))
                nearest.sort()
            elif d < nearest[-1][0]:
                nearest[-1] = (d, label)
                nearest.sort()
        counts = [0.5] * 10
        for _, label in nearest:
            counts[label] += 1
        total = sum(counts)
        return [c / total for c in counts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the training set: JSON { k, examples: [[label, 64 pixels...]] }")
    parser.add_argument("--repo", default=None)
    parser.add_argument("--name", default="digit-knn")
    args = parser.parse_args()
    knn = Knn(args.data)

    def classify(data: bytes) -> bytes:
        try:
            x = read_pgm(data)
        except InvalidImageError as err:
            return json.dumps({"error": {"name": "InvalidImageError", "message": str(err)}}).encode()
        return json.dumps({"scores": knn.scores(x)}).encode()

    noodle.serve({"classify": classify}, name=args.name, repo=args.repo)


if __name__ == "__main__":
    main()
