/** Every error the runtime raises on bad input: one line that names the file, tensor or field. */
export class Mamba2Error extends Error {
  override name = "Mamba2Error";
}

export function fail(message: string): never {
  throw new Mamba2Error(message);
}
