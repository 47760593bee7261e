// The DNS wire format the dns-echo example speaks (RFC 1035, section 4): it
// reads queries and writes answers for server.ts, and writes queries and
// checks answers for launch.ts. Only what an echo service needs: one
// question, one TXT answer, no name compression in questions.
// Not run by itself; see launch.ts.

export const TYPE_TXT = 16;
export const CLASS_IN = 1;

const HEADER = 12;
/** Longest name on the wire, its length bytes and the root's zero included. */
const MAX_NAME = 255;
/** Longest character-string in a TXT record. */
const MAX_TEXT = 255;

const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const OPCODE_MASK = 0x7800;
const RCODE_MASK = 0x000f;

/** A question: the name in dotted form ("a.example."), its type and class. */
export interface Question {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

/** A query the server will answer. */
export interface Query {
  readonly id: number;
  /** The RD bit: recursion desired. */
  readonly recursionDesired: boolean;
  readonly question: Question;
  /** The question as it came on the wire (name, type, class), to echo byte for byte. */
  readonly questionBytes: Uint8Array;
}

/** An answer as launch.ts reads it. */
export interface Answer {
  readonly id: number;
  readonly flags: number;
  readonly questionBytes: Uint8Array;
  /** The TXT record's strings joined. */
  readonly text: string;
}

const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function u16(packet: Uint8Array, at: number): number {
  return ((packet[at] ?? 0) << 8) | (packet[at + 1] ?? 0);
}

function putU16(packet: Uint8Array, at: number, value: number): void {
  packet[at] = (value >>> 8) & 0xff;
  packet[at + 1] = value & 0xff;
}

/**
 * Reads the question that starts at `at`: its name as plain labels, then
 * type and class. Undefined when it runs past the packet, uses compression
 * or the reserved label types, or names more than 255 bytes.
 */
function readQuestion(packet: Uint8Array, at: number): { question: Question; end: number } | undefined {
  const labels: string[] = [];
  let offset = at;
  for (;;) {
    if (offset >= packet.length) return undefined;
    const length = packet[offset] ?? 0;
    if ((length & 0xc0) !== 0) return undefined;
    if (offset + 1 + length > packet.length) return undefined;
    if (offset + 1 + length - at > MAX_NAME) return undefined;
    offset += 1;
    if (length === 0) break;
    labels.push(latin1.decode(packet.subarray(offset, offset + length)));
    offset += length;
  }
  if (offset + 4 > packet.length) return undefined;
  const question = { name: `${labels.join(".")}.`, type: u16(packet, offset), class: u16(packet, offset + 2) };
  return { question, end: offset + 4 };
}

/**
 * A standard query (QR 0, opcode 0) with exactly one question, or undefined
 * for anything else. Bytes after the question (EDNS records, say) are ignored.
 */
export function parseQuery(packet: Uint8Array): Query | undefined {
  if (packet.length < HEADER) return undefined;
  const flags = u16(packet, 2);
  if ((flags & FLAG_QR) !== 0 || (flags & OPCODE_MASK) !== 0) return undefined;
  if (u16(packet, 4) !== 1) return undefined;
  const read = readQuestion(packet, HEADER);
  if (read === undefined) return undefined;
  return {
    id: u16(packet, 0),
    recursionDesired: (flags & FLAG_RD) !== 0,
    question: read.question,
    questionBytes: packet.slice(HEADER, read.end),
  };
}

/** The answer to `query`: its ID and question, QR set, RD copied, RA clear, RCODE 0, and one TXT record of `text`. */
export function buildAnswer(query: Query, text: string): Uint8Array {
  const txt = encoder.encode(text).subarray(0, MAX_TEXT);
  const question = query.questionBytes;
  const packet = new Uint8Array(HEADER + question.length + 12 + 1 + txt.length);
  putU16(packet, 0, query.id);
  putU16(packet, 2, FLAG_QR | (query.recursionDesired ? FLAG_RD : 0));
  putU16(packet, 4, 1); // QDCOUNT
  putU16(packet, 6, 1); // ANCOUNT; NSCOUNT and ARCOUNT stay 0
  packet.set(question, HEADER);
  let at = HEADER + question.length;
  putU16(packet, at, 0xc000 | HEADER); // the owner name: a pointer to the question's
  putU16(packet, at + 2, TYPE_TXT);
  putU16(packet, at + 4, CLASS_IN);
  // TTL 0 (4 bytes already zero): nobody should cache an echo.
  putU16(packet, at + 10, 1 + txt.length);
  at += 12;
  packet[at] = txt.length;
  packet.set(txt, at + 1);
  return packet;
}

/** A query for `name` ("q1.example.") with RD set. */
export function buildQuery(id: number, name: string, type: number = TYPE_TXT): Uint8Array {
  const labels = name
    .split(".")
    .filter((label) => label !== "")
    .map((label) => encoder.encode(label));
  if (labels.some((label) => label.length > 63)) throw new RangeError(`a label of ${name} is over 63 bytes`);
  const nameLength = labels.reduce((sum, label) => sum + 1 + label.length, 1);
  if (nameLength > MAX_NAME) throw new RangeError(`${name} is over ${MAX_NAME} bytes`);
  const packet = new Uint8Array(HEADER + nameLength + 4);
  putU16(packet, 0, id);
  putU16(packet, 2, FLAG_RD);
  putU16(packet, 4, 1);
  let at = HEADER;
  for (const label of labels) {
    packet[at] = label.length;
    packet.set(label, at + 1);
    at += 1 + label.length;
  }
  at += 1; // the root label
  putU16(packet, at, type);
  putU16(packet, at + 2, CLASS_IN);
  return packet;
}

/**
 * Reads an answer as buildAnswer() writes it, or returns why it is not
 * one: a string describing the first thing wrong.
 */
export function parseAnswer(packet: Uint8Array): Answer | string {
  if (packet.length < HEADER) return `${packet.length} bytes, shorter than a header`;
  const flags = u16(packet, 2);
  if ((flags & FLAG_QR) === 0) return "QR is not set";
  if ((flags & (OPCODE_MASK | FLAG_TC | FLAG_RA | RCODE_MASK)) !== 0) {
    return `unexpected flags 0x${flags.toString(16)}`;
  }
  const counts = [u16(packet, 4), u16(packet, 6), u16(packet, 8), u16(packet, 10)].join(",");
  if (counts !== "1,1,0,0") return `section counts ${counts}, not 1,1,0,0`;
  const read = readQuestion(packet, HEADER);
  if (read === undefined) return "malformed question";
  let at = read.end;
  if (at + 12 > packet.length) return "answer record cut short";
  if (u16(packet, at) !== (0xc000 | HEADER)) return "answer name does not point at the question";
  if (u16(packet, at + 2) !== TYPE_TXT || u16(packet, at + 4) !== CLASS_IN) return "answer is not TXT IN";
  const dataLength = u16(packet, at + 10);
  at += 12;
  if (at + dataLength !== packet.length) return `record data of ${dataLength} bytes does not end the packet`;
  const strings: string[] = [];
  while (at < packet.length) {
    const length = packet[at] ?? 0;
    if (at + 1 + length > packet.length) return "TXT string runs past the record";
    strings.push(decoder.decode(packet.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  return {
    id: u16(packet, 0),
    flags,
    questionBytes: packet.slice(HEADER, read.end),
    text: strings.join(""),
  };
}
