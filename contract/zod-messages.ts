/**
 * English messages for the errors zod words itself (an unknown key, a wrong type without a message of ours):
 * imported by every module of request schemas, so that a function validating requests has them and one that
 * does not (it only answers views) bundles neither zod nor its locale.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());
