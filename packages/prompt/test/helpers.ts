/** The tensor names, dtypes and shapes a safetensors file declares (its JSON header), by name. */
export function decodeSafetensorsHeader(bytes: Uint8Array): Record<string, { dtype: string; shape: number[] }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as Record<
    string,
    { dtype: string; shape: number[] }
  >;
  const out: Record<string, { dtype: string; shape: number[] }> = {};
  for (const k of Object.keys(header).sort()) {
    if (k !== '__metadata__') out[k] = { dtype: header[k].dtype, shape: header[k].shape };
  }
  return out;
}
