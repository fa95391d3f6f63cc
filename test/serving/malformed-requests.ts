import { maxRequestBytes } from '../../schemas/recommend';

/** Malformed requests, each with the code it must get. Shared with the contract test over NATS. */
export const malformedRequests: [string, string | Uint8Array, string][] = [
  [
    'body over the size limit',
    JSON.stringify({ userId: 'u', exclude: ['x'.repeat(maxRequestBytes)] }),
    'body_too_large',
  ],
  ['empty body', '', 'empty_body'],
  ['bytes that are not UTF-8', Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d), 'invalid_utf8'],
  ['truncated JSON', '{"userId": ', 'invalid_json'],
  ['a JSON array', '[1,2]', 'not_an_object'],
  ['JSON null', 'null', 'not_an_object'],
  ['a JSON string', '"u1"', 'not_an_object'],
  ['an unknown field', JSON.stringify({ userId: 'u', debug: true }), 'unknown_field'],
  ['no userId', JSON.stringify({ k: 5 }), 'missing_user_id'],
  ['userId a number', JSON.stringify({ userId: 7 }), 'invalid_user_id'],
  ['userId with a space', JSON.stringify({ userId: 'a b' }), 'invalid_user_id'],
  ['userId over 128 characters', JSON.stringify({ userId: 'u'.repeat(129) }), 'invalid_user_id'],
  ['empty userId', JSON.stringify({ userId: '' }), 'invalid_user_id'],
  ['unknown surface', JSON.stringify({ userId: 'u', surface: 'tv' }), 'invalid_surface'],
  ['k = 0', JSON.stringify({ userId: 'u', k: 0 }), 'invalid_k'],
  ['k = 101', JSON.stringify({ userId: 'u', k: 101 }), 'invalid_k'],
  ['k fractional', JSON.stringify({ userId: 'u', k: 2.5 }), 'invalid_k'],
  ['k a string', JSON.stringify({ userId: 'u', k: '10' }), 'invalid_k'],
  ['recentItems not a list', JSON.stringify({ userId: 'u', recentItems: '50' }), 'invalid_recent_items'],
  [
    '51 recentItems',
    JSON.stringify({ userId: 'u', recentItems: Array.from({ length: 51 }, (_, i) => `i${i}`) }),
    'invalid_recent_items',
  ],
  [
    'a recent item with a space',
    JSON.stringify({ userId: 'u', recentItems: ['a b'] }),
    'invalid_recent_items',
  ],
  ['exclude not a list', JSON.stringify({ userId: 'u', exclude: 3 }), 'invalid_exclude'],
  [
    '501 exclusions',
    JSON.stringify({ userId: 'u', exclude: Array.from({ length: 501 }, (_, i) => `${i}`) }),
    'invalid_exclude',
  ],
  ['item_detail without itemId', JSON.stringify({ userId: 'u', surface: 'item_detail' }), 'missing_item_id'],
  ['itemId a number', JSON.stringify({ userId: 'u', surface: 'item_detail', itemId: 50 }), 'invalid_item_id'],
  ['variant empty', JSON.stringify({ userId: 'u', variant: '' }), 'invalid_variant'],
];
