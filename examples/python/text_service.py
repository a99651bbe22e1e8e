"""A mesh service written in Python: text functions any daemon can call.

    pip install ./clients/python
    python3 examples/python/text_service.py --repo ~/.noodle --name text

then, from any daemon of the mesh:

    noodled call text upper 'hello'                          # HELLO
    curl -X POST --data 'hello' http://127.0.0.1:8080/svc/text/words   # with a gateway
"""
import argparse
import json

import noodle


def upper(data: bytes) -> bytes:
    return data.upper()


def words(data: bytes, call: noodle.Call) -> bytes:
    text = data.decode("utf-8")
    return json.dumps({"words": len(text.split()), "chars": len(text), "secondsLeft": call.remaining()}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=None, help="the local daemon's repo (default $NOODLE_PATH or ~/.noodle)")
    parser.add_argument("--name", default="text", help="the service's name in the mesh")
    args = parser.parse_args()
    # registers with the local daemon, answers until SIGINT/SIGTERM, then deregisters
    noodle.serve({"upper": upper, "words": words}, name=args.name, repo=args.repo)


if __name__ == "__main__":
    main()
