/**
 * The request body cannot be read as an OTLP ExportTraceServiceRequest at all (truncated protobuf,
 * invalid JSON, wrong top-level shape). Never retriable: the same bytes fail the same way.
 */
export class OtlpDecodeError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}
