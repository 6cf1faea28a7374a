// The few Node APIs web/test uses, typed for `tsc -p web` (the console's tsconfig has no Node
// types: the app runs in the browser). Delete this file if @types/node is ever added.
declare module "node:test" {
  type Body = () => void | Promise<void>;
  export function test(name: string, body: Body): Promise<void>;
  export function describe(name: string, body: () => void): Promise<void>;
  export default test;
}

declare module "node:assert/strict" {
  type Assert = {
    (value: unknown, message?: string): asserts value;
    ok(value: unknown, message?: string): asserts value;
    equal<T>(actual: unknown, expected: T, message?: string): asserts actual is T;
    deepEqual<T>(actual: unknown, expected: T, message?: string): asserts actual is T;
    throws(body: () => unknown, expected?: unknown, message?: string): void;
  };
  const assert: Assert;
  export default assert;
}

declare module "node:fs" {
  export function readFileSync(path: string | URL, encoding: "utf8"): string;
  export function readdirSync(path: string | URL, options: { withFileTypes: true }): {
    name: string;
    isDirectory(): boolean;
    isFile(): boolean;
  }[];
}

declare module "node:readline" {
  type Options = { input: unknown; crlfDelay?: number };
  export function createInterface(options: Options): AsyncIterable<string>;
}

declare module "node:process" {
  const process: {
    argv: string[];
    stdin: unknown;
    stdout: { write(text: string): boolean };
    stderr: { write(text: string): boolean };
    exitCode: number | undefined;
  };
  export default process;
}
