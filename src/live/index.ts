/**
 * The live role: one object per live stream id (its current source, its readers, and
 * takeover), the relay that feeds workers, the RTP fan-out WHEP viewers read, the
 * queueing of a stream's transcode, and the streams' views. What other roles and the
 * composition root may use.
 */
export type { LayerFrameListener, LiveSource, RtpListener } from './source.js';
export type { LiveReader } from './reader.js';
export { LiveStream } from './stream.js';
export { LiveStreams, type EndedStream, type LiveStreamsOptions, type PublishSlot } from './streams.js';
export { RtpFanout, type RtpSink, type SimulcastPacket } from './rtp-fanout.js';
export { RetransmitBuffer } from './retransmit-buffer.js';
export { MediaRelay, type MediaRelayOptions, type RelayApi, type RelayBodyHandle } from './relay/relay.js';
export { GoingLive, type GoingLiveOptions } from './going-live.js';
export { NO_STREAMS, StreamViews, type StreamsApi, type StreamViewsOptions } from './views.js';
export { registerIngestMetrics } from './metrics.js';
