// Bytes from hex written the way RFC 7541 Appendix C prints them ("8286 8441 0f77").

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
