#!/usr/bin/env perl
# A real RTSP server for Lookout's live-stream tests: RTSP::Server (Debian's librtsp-server-perl) relays what a
# source publishes (ANNOUNCE + RECORD, e.g. `ffmpeg -re -i clip.mp4 -f rtsp rtsp://127.0.0.1:SOURCE_PORT/live`)
# to clients that PLAY rtsp://127.0.0.1:CLIENT_PORT/live over RTP/UDP. Listens on 127.0.0.1 only.
#   usage: rtsp-test-server.pl CLIENT_PORT SOURCE_PORT RTP_START_PORT
use strict;
use warnings;
use AnyEvent;
use RTSP::Server;

my ($client_port, $source_port, $rtp_start) = @ARGV;
die "usage: $0 CLIENT_PORT SOURCE_PORT RTP_START_PORT\n" unless defined $rtp_start;
$| = 1;
my $server = RTSP::Server->new(
    log_level             => 1,
    client_listen_port    => $client_port,
    source_listen_port    => $source_port,
    rtp_start_port        => $rtp_start,
    client_listen_address => '127.0.0.1',
    source_listen_address => '127.0.0.1',
);
$server->listen;
print "listening\n";
AnyEvent->condvar->recv;
