// The few DER (X.690 §10) reads the certificate-chain check needs that @peculiar/x509 does not expose
// byte-exactly: the signed tbsCertificate, both signature AlgorithmIdentifiers, issuer and subject
// Names and the signature BIT STRING of an X.509 Certificate (RFC 5280 §4.1).

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

export interface CertificateParts {
  /** The DER tbsCertificate, exactly as signed. */
  tbsCertificate: Uint8Array;
  /** Certificate.signatureAlgorithm (full TLV). */
  signatureAlgorithm: Uint8Array;
  /** TBSCertificate.signature (full TLV); RFC 5280 §4.1.1.2 requires it to equal signatureAlgorithm. */
  tbsSignatureAlgorithm: Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
  /** The signatureValue BIT STRING's bits (the unused-bits count must be 0). */
  signatureValue: Uint8Array;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const CONTEXT_0_CONSTRUCTED = 0xa0;

/** Splits a DER Certificate into the parts the chain check signs and compares; null if it is not DER. */
export function splitCertificate(der: Uint8Array): CertificateParts | null {
  const certificate = readTlv(der, 0, der.length);
  if (!certificate || certificate.tag !== SEQUENCE || certificate.end !== der.length) return null;
  const tbs = readTlv(der, certificate.contentStart, certificate.end);
  if (!tbs || tbs.tag !== SEQUENCE) return null;
  const algorithm = readTlv(der, tbs.end, certificate.end);
  if (!algorithm || algorithm.tag !== SEQUENCE) return null;
  const signature = readTlv(der, algorithm.end, certificate.end);
  if (!signature || signature.tag !== BIT_STRING || signature.end !== certificate.end) return null;
  if (signature.end - signature.contentStart < 2 || der[signature.contentStart] !== 0) return null;

  let field = readTlv(der, tbs.contentStart, tbs.end);
  if (field && field.tag === CONTEXT_0_CONSTRUCTED) field = readTlv(der, field.end, tbs.end); // version
  if (!field || field.tag !== INTEGER) return null; // serialNumber
  const tbsAlgorithm = readTlv(der, field.end, tbs.end);
  if (!tbsAlgorithm || tbsAlgorithm.tag !== SEQUENCE) return null;
  const issuer = readTlv(der, tbsAlgorithm.end, tbs.end);
  if (!issuer || issuer.tag !== SEQUENCE) return null;
  const validity = readTlv(der, issuer.end, tbs.end);
  if (!validity || validity.tag !== SEQUENCE) return null;
  const subject = readTlv(der, validity.end, tbs.end);
  if (!subject || subject.tag !== SEQUENCE) return null;

  return {
    tbsCertificate: der.slice(tbs.start, tbs.end),
    signatureAlgorithm: der.slice(algorithm.start, algorithm.end),
    tbsSignatureAlgorithm: der.slice(tbsAlgorithm.start, tbsAlgorithm.end),
    issuer: der.slice(issuer.start, issuer.end),
    subject: der.slice(subject.start, subject.end),
    signatureValue: der.slice(signature.contentStart + 1, signature.end),
  };
}

// One TLV with a single-byte tag and a minimally encoded definite length, inside [offset, limit).
function readTlv(bytes: Uint8Array, offset: number, limit: number): Tlv | null {
  if (offset + 2 > limit) return null;
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) return null; // multi-byte tags never occur in these structures
  let length = bytes[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || contentStart + count > limit || bytes[contentStart] === 0) return null;
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 256 + bytes[contentStart + i]!;
    if (length < 0x80) return null; // the short form was required
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) return null;
  return { tag, start: offset, contentStart, end };
}
