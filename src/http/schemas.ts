/** JSON-schema fragments shared by routes. */
export const E164_PATTERN = "^\\+[1-9]\\d{1,14}$";
export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

export const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string" } },
} as const;
