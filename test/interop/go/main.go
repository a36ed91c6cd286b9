// Command interop runs a whole signaling exchange against a live Switchboard
// server with grpc-go, as another backend would: create a channel, watch it,
// offer, answer (a second answer must fail with ALREADY_EXISTS), trickle ICE
// both ways, list the candidates and close. It prints one JSON summary line
// on success and exits 1 with the reason on the first surprise.
//
//	go run . -addr 127.0.0.1:8080
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	signalingv1 "switchboard.example/interop/gen/signaling/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

type summary struct {
	ChannelID          string   `json:"channelId"`
	SecondAnswerCode   int      `json:"secondAnswerCode"`
	OffererCandidates  []string `json:"offererCandidates"`
	AnswererCandidates []string `json:"answererCandidates"`
	WatchEvents        []string `json:"watchEvents"`
	WatchVersions      []uint32 `json:"watchVersions"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port of the Switchboard server")
	timeout := flag.Duration("timeout", 30*time.Second, "deadline for the whole exchange")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	result, err := run(ctx, *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop (go):", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string) (*summary, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	client := signalingv1.NewSignalingServiceClient(conn)

	created, err := client.CreateChannel(ctx, &signalingv1.CreateChannelRequest{Ttl: durationpb.New(2 * time.Minute)})
	if err != nil {
		return nil, fmt.Errorf("CreateChannel: %w", err)
	}
	id := created.GetChannelId()
	out := &summary{ChannelID: id}

	// The offerer's token: without it the stream shows only the offer side.
	watch, err := client.WatchChannel(ctx, &signalingv1.WatchChannelRequest{ChannelId: id, Token: created.GetOffererToken()})
	if err != nil {
		return nil, fmt.Errorf("WatchChannel: %w", err)
	}
	// The snapshot comes first; once it is here the stream sees every later change.
	first, err := watch.Recv()
	if err != nil {
		return nil, fmt.Errorf("WatchChannel snapshot: %w", err)
	}
	record(out, first)
	events := make(chan error, 1)
	go func() { events <- readWatch(watch, out) }()

	offer := &signalingv1.SessionDescription{Type: signalingv1.SdpType_SDP_TYPE_OFFER, Sdp: "v=0 go offer"}
	if _, err := client.SetOffer(ctx, &signalingv1.SetOfferRequest{ChannelId: id, Token: created.GetOffererToken(), Offer: offer}); err != nil {
		return nil, fmt.Errorf("SetOffer: %w", err)
	}
	gotOffer, err := client.GetOffer(ctx, &signalingv1.GetOfferRequest{ChannelId: id})
	if err != nil {
		return nil, fmt.Errorf("GetOffer: %w", err)
	}
	if gotOffer.GetOffer().GetSdp() != offer.Sdp {
		return nil, fmt.Errorf("GetOffer returned %q, want %q", gotOffer.GetOffer().GetSdp(), offer.Sdp)
	}

	answer := &signalingv1.SessionDescription{Type: signalingv1.SdpType_SDP_TYPE_ANSWER, Sdp: "v=0 go answer"}
	answered, err := client.SetAnswer(ctx, &signalingv1.SetAnswerRequest{ChannelId: id, Answer: answer})
	if err != nil {
		return nil, fmt.Errorf("SetAnswer: %w", err)
	}
	_, err = client.SetAnswer(ctx, &signalingv1.SetAnswerRequest{ChannelId: id, Answer: answer})
	out.SecondAnswerCode = int(status.Code(err))
	if status.Code(err) != codes.AlreadyExists {
		return nil, fmt.Errorf("second SetAnswer: got %v, want AlreadyExists", err)
	}

	tokens := []string{created.GetOffererToken(), answered.GetAnswererToken()}
	for i, token := range tokens {
		candidate := &signalingv1.IceCandidate{
			Candidate:     fmt.Sprintf("candidate:%d 1 udp 2122260223 192.0.2.%d 5400%d typ host", i+1, i+1, i),
			SdpMid:        ptr("0"),
			SdpMLineIndex: ptr(uint32(0)),
		}
		add := &signalingv1.AddIceCandidateRequest{ChannelId: id, Token: token, Item: &signalingv1.AddIceCandidateRequest_Candidate{Candidate: candidate}}
		if _, err := client.AddIceCandidate(ctx, add); err != nil {
			return nil, fmt.Errorf("AddIceCandidate: %w", err)
		}
		done := &signalingv1.AddIceCandidateRequest{ChannelId: id, Token: token, Item: &signalingv1.AddIceCandidateRequest_EndOfCandidates{EndOfCandidates: true}}
		if _, err := client.AddIceCandidate(ctx, done); err != nil {
			return nil, fmt.Errorf("AddIceCandidate end-of-candidates: %w", err)
		}
	}
	for _, side := range []signalingv1.Side{signalingv1.Side_SIDE_OFFERER, signalingv1.Side_SIDE_ANSWERER} {
		list, err := client.ListIceCandidates(ctx, &signalingv1.ListIceCandidatesRequest{ChannelId: id, Side: side, Token: created.GetOffererToken()})
		if err != nil {
			return nil, fmt.Errorf("ListIceCandidates: %w", err)
		}
		if !list.GetComplete() {
			return nil, fmt.Errorf("ListIceCandidates %v: not complete", side)
		}
		for _, c := range list.GetCandidates() {
			if side == signalingv1.Side_SIDE_OFFERER {
				out.OffererCandidates = append(out.OffererCandidates, c.GetCandidate())
			} else {
				out.AnswererCandidates = append(out.AnswererCandidates, c.GetCandidate())
			}
		}
	}

	if _, err := client.CloseChannel(ctx, &signalingv1.CloseChannelRequest{ChannelId: id, Token: answered.GetAnswererToken()}); err != nil {
		return nil, fmt.Errorf("CloseChannel: %w", err)
	}
	if err := <-events; err != nil {
		return nil, err
	}
	return out, nil
}

// readWatch records every event until the server ends the stream after exchange_complete.
func readWatch(watch grpc.ServerStreamingClient[signalingv1.WatchChannelResponse], out *summary) error {
	for {
		msg, err := watch.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("WatchChannel: %w", err)
		}
		record(out, msg)
	}
}

func record(out *summary, msg *signalingv1.WatchChannelResponse) {
	var name string
	switch e := msg.GetEvent().(type) {
	case *signalingv1.WatchChannelResponse_Snapshot:
		name = "snapshot"
	case *signalingv1.WatchChannelResponse_Offer:
		name = "offer"
	case *signalingv1.WatchChannelResponse_Answer:
		name = "answer"
	case *signalingv1.WatchChannelResponse_IceCandidateAdded:
		name = "ice_candidate_added:" + e.IceCandidateAdded.GetSide().String()
	case *signalingv1.WatchChannelResponse_IceCandidatesComplete:
		name = "ice_candidates_complete:" + e.IceCandidatesComplete.GetSide().String()
	case *signalingv1.WatchChannelResponse_ChannelClosed:
		name = "channel_closed:" + e.ChannelClosed.GetClosedBy().String()
	case *signalingv1.WatchChannelResponse_ExchangeComplete:
		name = "exchange_complete"
	case *signalingv1.WatchChannelResponse_KeepAlive:
		return
	default:
		name = fmt.Sprintf("%T", e)
	}
	out.WatchEvents = append(out.WatchEvents, name)
	out.WatchVersions = append(out.WatchVersions, msg.GetVersion())
}

func ptr[T any](v T) *T { return &v }
