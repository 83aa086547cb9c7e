// The enrollment QR the operator console shows and a kiosk scans: the hub's address and a one-time code.
//   FKENROLL1 <hub URL> <code>    (fields joined by one space; the URL is http(s), the code as `hub device add` makes it)
import { z } from 'zod';

export const enrollCodeSchema = z.string().regex(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);

export function enrollQrPayload(hubUrl: string, code: string): string {
  return `FKENROLL1 ${hubUrl.replace(/\/+$/, '')} ${code}`;
}

/** Reads a scanned enrollment QR; undefined when it is not one. */
export function parseEnrollQr(text: string): { hubUrl: string; code: string } | undefined {
  const parts = text.trim().split(' ');
  if (parts.length !== 3 || parts[0] !== 'FKENROLL1') return undefined;
  const [, hubUrl, code] = parts as [string, string, string];
  if (!/^https?:\/\/[^\s]+$/.test(hubUrl) || !enrollCodeSchema.safeParse(code).success) return undefined;
  return { hubUrl, code };
}
