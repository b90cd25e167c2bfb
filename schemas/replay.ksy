meta:
  id: replay
  title: memvid replay segment (MV2RPLY!) and active-session envelope (MV2ACTIV)
  application: memvid (time-travel replay)
  file-extension:
    - bin
    - session
  license: Apache-2.0
  ks-version: '0.10'
  endian: le
doc: |
  The two binary forms of memvid's replay records, as FORMAT.md describes them byte by byte:

  * a replay segment (magic `MV2RPLY!`), which memvid appends inside a `.mv2` memory file each
    time sessions are saved (open a carved `segment-N.bin`, or a `.mv2` at the segment offset
    that `replayfmt info` prints);
  * an active-session envelope (magic `MV2ACTIV`), the `NAME.mv2.session` sidecar holding the
    session still being recorded.

  Records are serde structs in bincode 2 "fixed int" layout: no padding, integers little-endian,
  String = u64 byte length + UTF-8, Vec<T> = u64 count + items, Option<T> = tag byte (0 None,
  1 Some + T), Uuid = u64 length 16 + 16 bytes, enum = u32 variant index + fields.
  Field names are FORMAT.md's; Vec counts are the `num_*` fields before each list.
doc-ref: FORMAT.md in the replayfmt repository
seq:
  - id: magic
    type: str
    size: 8
    encoding: ASCII
    valid:
      any-of:
        - '"MV2RPLY!"'
        - '"MV2ACTIV"'
  - id: body
    type:
      switch-on: magic
      cases:
        '"MV2RPLY!"': segment
        '"MV2ACTIV"': envelope
types:
  segment:
    doc: Replay segment after its magic. The reference reader checks neither version nor total_size.
    seq:
      - id: version
        type: u4
        doc: 1 today
      - id: session_count
        type: u4
      - id: total_size
        type: u8
        doc: 24 + the sum over sessions of (8 + length)
      - id: sessions
        type: session_block
        repeat: expr
        repeat-expr: session_count
  session_block:
    seq:
      - id: length
        type: u8
      - id: session
        type: replay_session
        size: length
  envelope:
    doc: Active-session envelope after its magic.
    seq:
      - id: length
        type: u8
      - id: active_session
        type: active_session
        size: length
  active_session:
    seq:
      - id: session
        type: replay_session
      - id: next_checkpoint_id
        type: u8
      - id: actions_since_checkpoint
        type: u8
      - id: config
        type: replay_config
  replay_config:
    seq:
      - id: auto_checkpoint_interval
        type: u8
        doc: 0 = off
      - id: max_actions_per_session
        type: option_u8
      - id: auto_record
        type: bool
  replay_session:
    seq:
      - id: session_id
        type: uuid
      - id: name
        type: option_string
      - id: created_secs
        type: s8
        doc: Unix seconds
      - id: ended_secs
        type: option_s8
        doc: None while recording
      - id: num_checkpoints
        type: u8
      - id: checkpoints
        type: checkpoint
        repeat: expr
        repeat-expr: num_checkpoints
      - id: num_actions
        type: u8
      - id: actions
        type: replay_action
        repeat: expr
        repeat-expr: num_actions
      - id: num_metadata
        type: u8
      - id: metadata
        type: metadata_entry
        repeat: expr
        repeat-expr: num_metadata
        doc: HashMap<String,String> in wire order
      - id: version
        type: u4
        doc: 1 today
  metadata_entry:
    seq:
      - id: key
        type: string
      - id: value
        type: string
  replay_action:
    seq:
      - id: sequence
        type: u8
        doc: 0, 1, 2... within a session
      - id: timestamp_secs
        type: s8
      - id: action_type
        type: action_type
      - id: input_hash
        size: 32
        doc: BLAKE3 of the input; all zero without input, all 0xFF over 64 MiB
      - id: output_hash
        size: 32
      - id: input_preview
        type: string
      - id: output_preview
        type: string
      - id: num_affected_frames
        type: u8
      - id: affected_frames
        type: u8
        repeat: expr
        repeat-expr: num_affected_frames
      - id: duration_ms
        type: u8
  action_type:
    seq:
      - id: variant
        type: u4
        enum: action_kind
        valid:
          in-enum: true
      - id: fields
        type:
          switch-on: variant
          cases:
            'action_kind::put': frame_ref
            'action_kind::put_many': put_many
            'action_kind::find': find
            'action_kind::ask': ask
            'action_kind::checkpoint': checkpoint_action
            'action_kind::update': frame_ref
            'action_kind::delete': frame_ref
            'action_kind::tool_call': tool_call
  frame_ref:
    doc: The fields of Put, Update and Delete.
    seq:
      - id: frame_id
        type: u8
  put_many:
    seq:
      - id: num_frame_ids
        type: u8
      - id: frame_ids
        type: u8
        repeat: expr
        repeat-expr: num_frame_ids
      - id: count
        type: u8
  find:
    seq:
      - id: query
        type: string
      - id: mode
        type: string
        doc: free text; the CLI writes "Tantivy"
      - id: result_count
        type: u8
  ask:
    seq:
      - id: query
        type: string
      - id: provider
        type: string
      - id: model
        type: string
  checkpoint_action:
    seq:
      - id: checkpoint_id
        type: u8
  tool_call:
    seq:
      - id: name
        type: string
      - id: args_hash
        size: 32
  checkpoint:
    seq:
      - id: id
        type: u8
      - id: at_sequence
        type: u8
      - id: timestamp_secs
        type: s8
      - id: state_hash
        size: 32
        doc: BLAKE3 of the snapshot in bincode's standard (varint) encoding
      - id: snapshot
        type: state_snapshot
  state_snapshot:
    seq:
      - id: frame_count
        type: u8
      - id: num_frame_ids
        type: u8
      - id: frame_ids
        type: u8
        repeat: expr
        repeat-expr: num_frame_ids
      - id: lex_index_hash
        type: option_hash32
      - id: vec_index_hash
        type: option_hash32
      - id: wal_sequence
        type: u8
      - id: generation
        type: u8
  string:
    doc: bincode String, u64 byte length then UTF-8
    seq:
      - id: len
        type: u8
      - id: value
        type: str
        size: len
        encoding: UTF-8
  uuid:
    doc: Uuid as serde bytes, u64 length (always 16) then 16 bytes in RFC 4122 order
    seq:
      - id: len
        type: u8
        valid: 16
      - id: value
        size: 16
  bool:
    seq:
      - id: raw
        type: u1
        valid:
          max: 1
    instances:
      value:
        value: raw == 1
  option_string:
    seq:
      - id: tag
        type: u1
        valid:
          max: 1
      - id: value
        type: string
        if: tag == 1
  option_s8:
    seq:
      - id: tag
        type: u1
        valid:
          max: 1
      - id: value
        type: s8
        if: tag == 1
  option_u8:
    seq:
      - id: tag
        type: u1
        valid:
          max: 1
      - id: value
        type: u8
        if: tag == 1
  option_hash32:
    seq:
      - id: tag
        type: u1
        valid:
          max: 1
      - id: value
        size: 32
        if: tag == 1
enums:
  action_kind:
    0: put
    1: put_many
    2: find
    3: ask
    4: checkpoint
    5: update
    6: delete
    7: tool_call
