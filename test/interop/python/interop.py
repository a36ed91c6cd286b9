"""Runs a whole signaling exchange against a live Switchboard server with grpcio,
as another backend would: create a channel, watch it, offer, answer (a second
answer must fail with ALREADY_EXISTS), trickle ICE both ways, list the
candidates and close. Prints one JSON summary line on success; exits 1 with
the reason on the first surprise.

    python interop.py 127.0.0.1:8080      (after ./generate.sh)
"""

import json
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from google.protobuf import duration_pb2  # noqa: E402
from signaling.v1 import signaling_pb2 as pb  # noqa: E402
from signaling.v1 import signaling_pb2_grpc as pb_grpc  # noqa: E402

TIMEOUT_SECONDS = 30


class Surprise(Exception):
    pass


def event_name(msg):
    kind = msg.WhichOneof("event")
    if kind == "ice_candidate_added":
        return f"{kind}:{pb.Side.Name(msg.ice_candidate_added.side)}"
    if kind == "ice_candidates_complete":
        return f"{kind}:{pb.Side.Name(msg.ice_candidates_complete.side)}"
    if kind == "channel_closed":
        return f"{kind}:{pb.Side.Name(msg.channel_closed.closed_by)}"
    return kind


def run(addr):
    with grpc.insecure_channel(addr) as channel:
        client = pb_grpc.SignalingServiceStub(channel)
        t = TIMEOUT_SECONDS

        created = client.CreateChannel(pb.CreateChannelRequest(ttl=duration_pb2.Duration(seconds=120)), timeout=t)
        cid = created.channel_id
        out = {"channelId": cid, "watchEvents": [], "watchVersions": []}

        def record(msg):
            if msg.WhichOneof("event") == "keep_alive":
                return
            out["watchEvents"].append(event_name(msg))
            out["watchVersions"].append(msg.version)

        # The offerer's token: without it the stream shows only the offer side.
        watch = client.WatchChannel(pb.WatchChannelRequest(channel_id=cid, token=created.offerer_token), timeout=t)
        # The snapshot comes first; once it is here the stream sees every later change.
        record(next(watch))
        watch_error = []

        def read_watch():
            try:
                for msg in watch:  # ends when the server closes the stream after exchange_complete
                    record(msg)
            except grpc.RpcError as error:
                watch_error.append(error)

        reader = threading.Thread(target=read_watch)
        reader.start()

        offer = pb.SessionDescription(type=pb.SDP_TYPE_OFFER, sdp="v=0 python offer")
        client.SetOffer(pb.SetOfferRequest(channel_id=cid, token=created.offerer_token, offer=offer), timeout=t)
        got = client.GetOffer(pb.GetOfferRequest(channel_id=cid), timeout=t)
        if got.offer.sdp != offer.sdp:
            raise Surprise(f"GetOffer returned {got.offer.sdp!r}, want {offer.sdp!r}")

        answer = pb.SessionDescription(type=pb.SDP_TYPE_ANSWER, sdp="v=0 python answer")
        answered = client.SetAnswer(pb.SetAnswerRequest(channel_id=cid, answer=answer), timeout=t)
        try:
            client.SetAnswer(pb.SetAnswerRequest(channel_id=cid, answer=answer), timeout=t)
            raise Surprise("second SetAnswer succeeded, want ALREADY_EXISTS")
        except grpc.RpcError as error:
            out["secondAnswerCode"] = error.code().value[0]
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise Surprise(f"second SetAnswer: got {error.code().name}, want ALREADY_EXISTS") from error

        for i, token in enumerate([created.offerer_token, answered.answerer_token]):
            candidate = pb.IceCandidate(
                candidate=f"candidate:{i + 1} 1 udp 2122260223 192.0.2.{i + 1} 5400{i} typ host",
                sdp_mid="0",
                sdp_m_line_index=0,
            )
            client.AddIceCandidate(pb.AddIceCandidateRequest(channel_id=cid, token=token, candidate=candidate), timeout=t)
            client.AddIceCandidate(pb.AddIceCandidateRequest(channel_id=cid, token=token, end_of_candidates=True), timeout=t)

        for side, key in [(pb.SIDE_OFFERER, "offererCandidates"), (pb.SIDE_ANSWERER, "answererCandidates")]:
            listed = client.ListIceCandidates(pb.ListIceCandidatesRequest(channel_id=cid, side=side, token=created.offerer_token), timeout=t)
            if not listed.complete:
                raise Surprise(f"ListIceCandidates {pb.Side.Name(side)}: not complete")
            out[key] = [c.candidate for c in listed.candidates]

        client.CloseChannel(pb.CloseChannelRequest(channel_id=cid, token=answered.answerer_token), timeout=t)
        reader.join(t)
        if reader.is_alive():
            raise Surprise("WatchChannel did not end after exchange_complete")
        if watch_error:
            raise Surprise(f"WatchChannel: {watch_error[0].code().name}: {watch_error[0].details()}")
        return out


def main():
    addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8080"
    try:
        print(json.dumps(run(addr)))
    except (Surprise, grpc.RpcError) as error:
        print(f"interop (python): {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
