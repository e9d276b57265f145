/**
 * The Opus identification header (RFC 7845 5.1), which is Matroska's A_OPUS CodecPrivate.
 * WebRTC's Opus is always 48 kHz; mapping family 0 covers mono and stereo.
 */
export function opusHead(channels: 1 | 2, inputSampleRate = 48000, preSkip = 0): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'ascii');
  b.writeUInt8(1, 8); // version
  b.writeUInt8(channels, 9);
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(inputSampleRate, 12);
  b.writeInt16LE(0, 16); // output gain
  b.writeUInt8(0, 18); // channel mapping family
  return b;
}
