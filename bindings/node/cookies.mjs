// ESM entry of stack-auth/cookies (see cookies.js).
import cjs from './cookies.js';

export const { cookieStore } = cjs;
