"""The RPC frame codec against bytes the daemon's own protobuf code wrote (lib/rpc/pb/rpc.ts)."""
import unittest

from noodle._frames import FrameError, decode_request, encode_response

# Request { id: 300, service: "text", fn: "upper", timeout_ms: 1500, idempotent: true, payload: "hi" }
REQUEST = bytes.fromhex("08ac021204746578741a05757070657220dc0b280132026869")
# Response { id: 300, payload: "HI" }
RESPONSE = bytes.fromhex("08ac021a024849")
# Response { id: 7, error: { name: "ValueError", message: "bad" } }
ERROR_RESPONSE = bytes.fromhex("080712110a0a56616c75654572726f721203626164")


class Codec(unittest.TestCase):
    def test_decodes_the_daemons_request(self):
        self.assertEqual(decode_request(REQUEST), (300, "text", "upper", 1500, b"hi"))

    def test_encodes_what_the_daemon_decodes(self):
        self.assertEqual(encode_response(300, b"HI", None), bytes([len(RESPONSE)]) + RESPONSE)
        self.assertEqual(encode_response(7, None, ("ValueError", "bad")), bytes([len(ERROR_RESPONSE)]) + ERROR_RESPONSE)

    def test_long_payloads_get_a_multibyte_length(self):
        frame = encode_response(1, b"x" * 300, None)
        # 300 + 5 bytes of message: a two-byte varint prefix
        self.assertEqual(frame[:2], bytes([0xB1, 0x02]))
        self.assertEqual(len(frame), 2 + 305)

    def test_unknown_fields_are_passed_over(self):
        # field 15, varint 9; field 14, fixed32; field 13, fixed64; then the request
        extra = bytes([15 << 3, 9, (14 << 3) | 5, 1, 2, 3, 4, (13 << 3) | 1]) + bytes(8)
        self.assertEqual(decode_request(extra + REQUEST), (300, "text", "upper", 1500, b"hi"))

    def test_no_timeout_is_none(self):
        self.assertEqual(decode_request(bytes.fromhex("0801")), (1, "", "", None, b""))

    def test_malformed_requests_are_refused(self):
        for bad in (REQUEST[:-1], bytes([0x80] * 12), bytes([(2 << 3) | 2, 50, 1]), bytes([(3 << 3) | 3])):
            with self.subTest(bad=bad.hex()), self.assertRaises(FrameError):
                decode_request(bad)


if __name__ == "__main__":
    unittest.main()
