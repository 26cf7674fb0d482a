/**
 * A small parser for the uapi headers `header_test.ts` checks: object-like `#define`
 * constants, enum members, and structs with their fields (anonymous unions and structs
 * flattened, as C's `offsetof` sees them). Enough for `linux/io_uring.h` and
 * `linux/ublk_cmd.h`; not a C parser.
 *
 * @module
 */

/** One field of a parsed struct. */
export interface CField {
  /** The field name, usable in `offsetof`. */
  name: string;
  /** A flexible array member (`x[]`), whose `sizeof` cannot be taken. */
  flex: boolean;
}

/** One parsed struct. */
export interface CStruct {
  /** The struct tag. */
  name: string;
  /** Its fields in order, anonymous members flattened. */
  fields: CField[];
}

/** What a header defines. */
export interface ParsedHeader {
  /** Object-like macros with a value, and enum members, in order. */
  constants: string[];
  /** Top-level struct definitions. */
  structs: CStruct[];
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, "");
}

/** Index of the `}` matching the `{` at `open`. */
function matchBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "{") depth++;
    else if (s[i] === "}" && --depth === 0) return i;
  }
  throw new SyntaxError(`Cannot find the brace matching offset ${open}`);
}

/** Splits a struct body into member declarations at depth-0 semicolons. */
function members(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === "{" || ch === "(") depth++;
    else if (ch === "}" || ch === ")") depth--;
    else if (ch === ";" && depth === 0) {
      out.push(body.slice(start, i).trim());
      start = i + 1;
    }
  }
  return out.filter((m) => m.length > 0);
}

function parseFields(body: string): CField[] {
  const fields: CField[] = [];
  for (const m of members(body)) {
    const flexDecl = /^__DECLARE_FLEX_ARRAY\s*\(\s*[^,]+,\s*(\w+)\s*\)$/.exec(m);
    if (flexDecl) {
      fields.push({ name: flexDecl[1], flex: true });
      continue;
    }
    const agg = /^(union|struct)\s*(\w+\s*)?\{/.exec(m);
    if (agg && m.indexOf("{") >= 0) {
      const open = m.indexOf("{");
      const close = matchBrace(m, open);
      const after = m.slice(close + 1).replace(/__attribute__\s*\(\(.*\)\)/g, "").trim();
      if (after === "") fields.push(...parseFields(m.slice(open + 1, close)));
      else fields.push({ name: /(\w+)\s*(\[[^\]]*\])?$/.exec(after)![1], flex: false });
      continue;
    }
    const decl = /(\w+)\s*(\[([^\]]*)\])?\s*$/.exec(m.replace(/__attribute__\s*\(\(.*\)\)/g, ""));
    if (!decl) throw new SyntaxError(`Cannot parse member "${m}"`);
    fields.push({ name: decl[1], flex: decl[2] !== undefined && decl[3].trim() === "" });
  }
  return fields;
}

/**
 * Parses one header.
 *
 * @param source The header text.
 * @returns Its constants and structs.
 */
export function parseHeader(source: string): ParsedHeader {
  const text = stripComments(source).replace(/\\\n/g, " ");
  const constants: string[] = [];
  const events: { at: number; name: string }[] = [];
  for (const m of text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)([ \t(]?)(.*)$/gm)) {
    if (m[2] === "(") continue; // function-like
    if (m[3].trim() === "") continue; // include guard or flag macro
    events.push({ at: m.index!, name: m[1] });
  }
  for (const m of text.matchAll(/\benum\s*(\w+)?\s*\{([^}]*)\}/g)) {
    let at = m.index!;
    for (const item of m[2].split(",")) {
      const name = item.replace(/=.*$/s, "").trim();
      if (name !== "") events.push({ at: at++, name });
    }
  }
  events.sort((a, b) => a.at - b.at);
  for (const e of events) constants.push(e.name);

  const noPre = text.replace(/^[ \t]*#.*$/gm, "");
  const structs: CStruct[] = [];
  const re = /\bstruct\s+(\w+)\s*\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(noPre)) !== null) {
    const open = noPre.indexOf("{", m.index);
    const close = matchBrace(noPre, open);
    structs.push({ name: m[1], fields: parseFields(noPre.slice(open + 1, close)) });
    re.lastIndex = close + 1;
  }
  return { constants, structs };
}
