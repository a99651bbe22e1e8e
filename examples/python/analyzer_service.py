"""A knowledge extractor written in Python: an analyzer service for `noodled kg add --text ... --analyzer`.

    python3 examples/python/analyzer_service.py --name caps-ner
    noodled kg add --graph notes --text 'Grace Hopper met Alan Turing in London.' --analyzer caps-ner

It answers the analyzer contract (docs/knowledge.md, "Analyzers"): every run of
capitalised words is a person (a place after "in" or "at"), and the first
person is related to each other one by the verb between them. A team's real
model (spaCy, a transformer) goes where `find` is.
"""
import argparse
import json
import re

import noodle

NAME = re.compile(r"\b([A-Z][a-z]+(?: [A-Z][a-z]+)*)\b")


def find(text: str) -> dict:
    entities, relations = [], []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        found = []
        for m in NAME.finditer(sentence):
            before = sentence[:m.start()].split()
            kind = "Place" if before and before[-1].lower() in ("in", "at") else "Person"
            if m.start() == 0 and " " not in m.group(1):
                continue  # a capitalised first word is not a name
            found.append(({"type": kind, "name": m.group(1)}, m.start(), m.end()))
        entities += [e for e, _, _ in found]
        people = [f for f in found if f[0]["type"] == "Person"]
        if people:
            subject, _, end = people[0]
            for other, start, _ in found[1:]:
                verb = sentence[end:start].split()
                if verb:
                    relations.append({"subject": subject, "predicate": verb[0].lower().strip(",;"), "object": other})
    return {"analyzer": {"name": "caps-ner", "version": "1.0"}, "entities": entities, "relations": relations}


def extract(data: bytes) -> bytes:
    request = json.loads(data)
    return json.dumps(find(request["text"])).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=None)
    parser.add_argument("--name", default="caps-ner")
    args = parser.parse_args()
    noodle.serve({"extract": extract}, name=args.name, repo=args.repo)


if __name__ == "__main__":
    main()
