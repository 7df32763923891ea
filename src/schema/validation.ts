// Input rules shared by several mutations, as zod schemas for @pothos/plugin-validation
// (failures become BAD_USER_INPUT with these messages).
import { z } from 'zod';

export const NAME_MAX = 200;

const hasNoNul = (value: string) => !value.includes('\u0000');

/** Any text we store: PostgreSQL text cannot hold a NUL character. */
export const textSchema = (what: string) => z.string().refine(hasNoNul, `${what} must not contain NUL characters.`);

/** A display name: trimmed, 1..200 characters. */
export const nameSchema = (what: string) =>
  textSchema(what)
    .trim()
    .min(1, `${what} must not be empty.`)
    .max(NAME_MAX, `${what} must be at most ${NAME_MAX} characters.`);

export const optionalText = (what: string, max: number) =>
  textSchema(what).max(max, `${what} must be at most ${max} characters.`).nullish();

/** The key under which emails are unique: compared case-insensitively, ignoring outer spaces. */
export const emailKey = (email: string) => email.trim().toLowerCase();

/** Could `id` name a stored row? 1..200 characters and no NUL, which PostgreSQL text cannot hold. */
export const isWellFormedId = (id: string) => id.length >= 1 && id.length <= 200 && hasNoNul(id);

/** Ids are opaque strings; anything absurd is simply not found. */
export const idSchema = z
  .string()
  .min(1, 'An id must not be empty.')
  .max(200, 'Not a valid id.')
  .refine(hasNoNul, 'Not a valid id.');
