/** Storage errors: values with a stable `code` the HTTP layer maps to a status. */
export type StorageErrorCode = "NOT_FOUND" | "CONFLICT";

export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode;
  // Neither kind goes away by retrying the same request.
  readonly retryable = false;
}

export class NotFoundError extends StorageError {
  readonly code = "NOT_FOUND";
  override readonly name = "NotFoundError";
  constructor(
    readonly entity: string,
    readonly id: string,
    options?: ErrorOptions,
  ) {
    super(`${entity} ${id} not found`, options);
  }
}

export class ConflictError extends StorageError {
  readonly code = "CONFLICT";
  override readonly name = "ConflictError";
  constructor(
    readonly entity: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** True for PostgreSQL's unique_violation (SQLSTATE 23505), from node-postgres and PGlite alike. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === "23505";
}

/** True for PostgreSQL's foreign_key_violation (SQLSTATE 23503): the referenced row does not exist. */
export function isForeignKeyViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && "code" in err && err.code === "23503";
}
