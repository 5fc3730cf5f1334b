//! The parser: items to trees, one per template name (`define` and `block` add more), with Go's
//! parse-time checks (undefined variables and functions, misplaced `break`) and Go's messages.

use std::collections::HashMap;
use std::sync::Arc;

use super::funcs::FuncMap;
use super::gostr::{GoStr, Rune};
use super::lex::{self, Item, ItemType};
use super::node::{Arg, Branch, Command, List, Node, Number, Pipe, Variable};
use super::value::Value;
use crate::fmt::{quote, quote_go};

/// One parsed template: its name, the file it came from and its root.
#[derive(Debug)]
pub struct Tree {
    pub name: String,
    /// The name of the top-level template being parsed (Go's `ParseName`), for error locations.
    pub parse_name: String,
    /// The source, which need not be UTF-8.
    pub text: Arc<[u8]>,
    pub root: List,
}

/// A parse error, already formatted as Go formats it: `template: NAME:LINE: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

type Result<T> = std::result::Result<T, ParseError>;

/// Parses `text` (Go's templates are bytes, not necessarily UTF-8) into its named trees (the
/// top-level one named `name`).
pub fn parse(
    name: &str,
    text: &[u8],
    left: &str,
    right: &str,
    funcs: &FuncMap,
) -> Result<HashMap<String, Tree>> {
    let text: Arc<[u8]> = Arc::from(text);
    let items = lex::lex(&text, left, right);
    let mut p = Parser {
        parse_name: name.to_string(),
        text: text.clone(),
        funcs,
        items,
        next_item: 0,
        token: Default::default(),
        peek_count: 0,
        vars: vec!["$".to_string()],
        action_line: 0,
        range_depth: 0,
        trees: HashMap::new(),
    };
    let root = p.parse_top()?;
    p.add(name.to_string(), root)?;
    Ok(p.trees)
}

/// What `itemList` stops at.
enum Stop {
    End,
    Else { pos: usize },
}

/// A node or the `{{end}}`/`{{else}}` that closes a list.
enum Parsed {
    Node(Node),
    Stop(Stop),
}

impl Stop {
    fn describe(&self) -> &'static str {
        match self {
            Stop::End => "{{end}}",
            Stop::Else { .. } => "{{else}}",
        }
    }
}

struct Parser<'f> {
    parse_name: String,
    text: Arc<[u8]>,
    funcs: &'f FuncMap,
    items: Vec<Item>,
    next_item: usize,
    /// Go's three-token look-ahead buffer; `token[0]` is the latest item read from the lexer.
    token: [Option<Item>; 3],
    peek_count: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
    trees: HashMap<String, Tree>,
}

fn is_keyword(t: ItemType) -> bool {
    use ItemType::*;
    matches!(
        t,
        Block | Break | Continue | Dot | Define | Else | End | If | Nil | Range | Template | With
    )
}

impl<'f> Parser<'f> {
    fn lex_next(&mut self) -> Item {
        let item = self.items.get(self.next_item).cloned().unwrap_or_else(|| {
            // The lexer ends with Eof or Error; after an error Go's lexer returns Eof.
            let pos = self.text.len();
            Item {
                typ: ItemType::Eof,
                pos,
                end: pos,
                val: String::new(),
                line: 0,
            }
        });
        self.next_item += 1;
        item
    }

    fn next(&mut self) -> Item {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = Some(self.lex_next());
        }
        self.token[self.peek_count].clone().expect("token")
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item) {
        self.token[1] = Some(t1);
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item, t1: Item) {
        self.token[1] = Some(t1);
        self.token[2] = Some(t2);
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone().expect("token");
        }
        self.peek_count = 1;
        self.token[0] = Some(self.lex_next());
        self.token[0].clone().expect("token")
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, msg: impl std::fmt::Display) -> ParseError {
        let line = self.token[0].as_ref().map_or(0, |t| t.line);
        ParseError(format!("template: {}:{}: {}", self.parse_name, line, msg))
    }

    /// Go's `item.String()`: a token is quoted from its source bytes, cut to ten runes when it
    /// is longer than ten bytes.
    fn item_string(&self, i: &Item) -> String {
        match i.typ {
            ItemType::Eof => "EOF".into(),
            ItemType::Error => i.val.clone(),
            t if is_keyword(t) => format!("<{}>", i.val),
            _ => {
                let src = GoStr::Raw(&self.text[i.pos..i.end]);
                if src.len() > 10 {
                    format!("{}...", quote_go(src.prefix_runes(10)))
                } else {
                    quote_go(src)
                }
            }
        }
    }

    fn unexpected(&self, token: &Item, context: &str) -> ParseError {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{}{}", self.item_string(token), extra));
        }
        self.errorf(format!(
            "unexpected {} in {}",
            self.item_string(token),
            context
        ))
    }

    fn expect(&mut self, expected: ItemType, context: &str) -> Result<Item> {
        let token = self.next_non_space();
        if token.typ != expected {
            return Err(self.unexpected(&token, context));
        }
        Ok(token)
    }

    /// Registers a tree under its name, as Go's `(*Tree).add`: an empty tree never replaces
    /// a non-empty one, and two non-empty ones are an error.
    fn add(&mut self, name: String, root: List) -> Result<()> {
        if let Some(existing) = self.trees.get(&name) {
            if !is_empty_tree(&existing.root) {
                if !is_empty_tree(&root) {
                    return Err(self.errorf(format!(
                        "template: multiple definition of template {}",
                        quote(&name)
                    )));
                }
                return Ok(());
            }
        }
        let tree = Tree {
            name: name.clone(),
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        };
        self.trees.insert(name, tree);
        Ok(())
    }

    fn parse_top(&mut self) -> Result<List> {
        let mut root = List {
            pos: self.peek().pos,
            nodes: Vec::new(),
        };
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                Parsed::Stop(stop) => {
                    return Err(self.errorf(format!("unexpected {}", stop.describe())))
                }
                Parsed::Node(n) => root.nodes.push(n),
            }
        }
        Ok(root)
    }

    /// `{{define "name"}} … {{end}}`, with its own variable scope.
    fn parse_definition(&mut self) -> Result<()> {
        let context = "define clause";
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let token = self.next_non_space();
        if token.typ != ItemType::String && token.typ != ItemType::RawString {
            return Err(self.unexpected(&token, context));
        }
        let name = self.template_name_literal(&token)?;
        self.expect(ItemType::RightDelim, context)?;
        let (root, end) = self.item_list()?;
        if !matches!(end, Stop::End) {
            return Err(self.errorf(format!("unexpected {} in {}", end.describe(), context)));
        }
        self.add(name, root)?;
        self.vars = saved_vars;
        Ok(())
    }

    /// A token's source bytes. `val` holds them already unless it replaced a byte that is not
    /// UTF-8, which makes it two bytes longer.
    fn source_bytes(&self, token: Item) -> Vec<u8> {
        if token.val.len() == token.end - token.pos {
            return token.val.into_bytes();
        }
        self.text[token.pos..token.end].to_vec()
    }

    /// The Go string a string literal stands for; a raw string keeps its source bytes.
    fn string_literal(&self, token: &Item) -> Result<Vec<u8>> {
        let bytes = match token.typ {
            ItemType::RawString => lex::unquote_raw(&self.text[token.pos..token.end]),
            _ => lex::unquote(&token.val),
        };
        bytes.ok_or_else(|| self.errorf("invalid syntax"))
    }

    /// A template name: Go allows any bytes; ours are UTF-8, so a byte that is not shows as
    /// U+FFFD.
    fn template_name_literal(&self, token: &Item) -> Result<String> {
        let name = self.string_literal(token)?;
        Ok(GoStr::Raw(&name).to_lossy())
    }

    fn item_list(&mut self) -> Result<(List, Stop)> {
        let mut list = List {
            pos: self.peek_non_space().pos,
            nodes: Vec::new(),
        };
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Stop(stop) => return Ok((list, stop)),
                Parsed::Node(n) => list.nodes.push(n),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> Result<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                pos: token.pos,
                text: self.source_bytes(token),
            })),
            ItemType::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> Result<Parsed> {
        let token = self.next_non_space();
        let node = match token.typ {
            ItemType::Block => self.block_control()?,
            ItemType::Break => self.break_control(token.pos, "{{break}}")?,
            ItemType::Continue => self.break_control(token.pos, "{{continue}}")?,
            ItemType::Else => return self.else_control().map(Parsed::Stop),
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::Stop(Stop::End));
            }
            ItemType::If => Node::If(self.parse_control("if")?),
            ItemType::Range => Node::Range(self.parse_control("range")?),
            ItemType::Template => self.template_control()?,
            ItemType::With => Node::With(self.parse_control("with")?),
            _ => {
                self.backup();
                let token = self.peek();
                let pipe = self.pipeline("command", ItemType::RightDelim)?;
                Node::Action {
                    pos: token.pos,
                    pipe,
                }
            }
        };
        Ok(Parsed::Node(node))
    }

    fn break_control(&mut self, pos: usize, what: &str) -> Result<Node> {
        let token = self.next_non_space();
        if token.typ != ItemType::RightDelim {
            return Err(self.unexpected(&token, what));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{what} outside {{{{range}}}}")));
        }
        Ok(if what == "{{break}}" {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        })
    }

    fn else_control(&mut self) -> Result<Stop> {
        let peek = self.peek_non_space();
        // `{{else if …}}` and `{{else with …}}` leave the keyword pending for parse_control.
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            return Ok(Stop::Else { pos: peek.pos });
        }
        let token = self.expect(ItemType::RightDelim, "else")?;
        Ok(Stop::Else { pos: token.pos })
    }

    fn parse_control(&mut self, context: &str) -> Result<Branch> {
        let mark = self.vars.len();
        let r = self.parse_control_inner(context);
        self.vars.truncate(mark);
        r
    }

    fn parse_control_inner(&mut self, context: &str) -> Result<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let listed = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = listed?;
        let mut else_list = None;
        if let Stop::Else { pos } = next {
            let chained = match (context, self.peek().typ) {
                ("if", ItemType::If) => Some("if"),
                ("with", ItemType::With) => Some("with"),
                _ => None,
            };
            if let Some(kind) = chained {
                // `{{else if x}}` is `{{else}}{{if x}}…{{end}}{{end}}` with the inner end implied.
                self.next();
                let branch = self.parse_control(kind)?;
                let node = if kind == "if" {
                    Node::If(branch)
                } else {
                    Node::With(branch)
                };
                else_list = Some(List {
                    pos,
                    nodes: vec![node],
                });
            } else {
                let (list, next) = self.item_list()?;
                if !matches!(next, Stop::End) {
                    return Err(self.errorf(format!("expected end; found {}", next.describe())));
                }
                else_list = Some(list);
            }
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn block_control(&mut self) -> Result<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (root, end) = self.item_list()?;
        if !matches!(end, Stop::End) {
            return Err(self.errorf(format!("unexpected {} in {}", end.describe(), context)));
        }
        self.add(name.clone(), root)?;
        self.vars = saved_vars;
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> Result<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            Some(self.pipeline(context, ItemType::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn template_name(&mut self, token: &Item, context: &str) -> Result<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => self.template_name_literal(token),
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> Result<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let token = self.next_non_space();
            use ItemType::*;
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                Bool | CharConstant | Complex | Dot | Field | Identifier | Number | Nil
                | RawString | String | Variable | LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    /// `$x :=`, `$x =`, and range's `$i, $e :=`.
    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> Result<()> {
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                return Ok(());
            }
            self.next();
            // Space is a token, so "$x foo" needs three-token look-ahead.
            let token_after_variable = self.peek();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(new_variable(v.pos, &v.val));
                    self.vars.push(v.val.clone());
                    return Ok(());
                }
                ItemType::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(new_variable(v.pos, &v.val));
                    self.vars.push(v.val.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ if token_after_variable.typ == ItemType::Space => {
                    self.backup3(v, token_after_variable);
                    return Ok(());
                }
                _ => {
                    self.backup2(v);
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Result<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool { .. }
                    | Arg::Dot { .. }
                    | Arg::Nil { .. }
                    | Arg::Number(_)
                    | Arg::Str { .. }
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != ItemType::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == ItemType::Field {
            fields.push(self.next().val[1..].to_string());
        }
        // Fields after a field or variable extend it; after a literal they are an error.
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable(mut v) => {
                v.idents.extend(fields);
                Arg::Variable(Variable {
                    pos,
                    idents: v.idents,
                })
            }
            Arg::Bool { .. }
            | Arg::Str { .. }
            | Arg::Number(_)
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    quote(&node.to_string())
                )))
            }
            node => Arg::Chain {
                pos,
                node: Box::new(node),
                fields,
            },
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.typ {
            ItemType::Identifier => {
                let Some(func) = self.funcs.lookup(&token.val) else {
                    return Err(self.errorf(format!("function {} not defined", quote(&token.val))));
                };
                Arg::Identifier {
                    pos,
                    name: token.val,
                    func,
                }
            }
            ItemType::Dot => Arg::Dot { pos },
            ItemType::Nil => Arg::Nil { pos },
            ItemType::Variable => self.use_var(pos, &token.val)?,
            ItemType::Field => Arg::Field {
                pos,
                idents: split_fields(&token.val),
            },
            ItemType::Bool => Arg::Bool {
                pos,
                value: token.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                Arg::Number(self.number(pos, &token.val, token.typ)?)
            }
            ItemType::LeftParen => Arg::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", ItemType::RightParen)?,
            )),
            ItemType::String | ItemType::RawString => {
                let value = Value::from_bytes(&self.string_literal(&token)?);
                Arg::Str {
                    pos,
                    quoted: token.val,
                    value,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }

    fn use_var(&self, pos: usize, name: &str) -> Result<Arg> {
        let v = new_variable(pos, name);
        if self.vars.iter().any(|known| *known == v.idents[0]) {
            return Ok(Arg::Variable(v));
        }
        Err(self.errorf(format!("undefined variable {}", quote(&v.idents[0]))))
    }

    /// Go's `strconv.UnquoteChar` on a char literal: one character (or escape), then the quote.
    fn char_constant(&self, text: &str) -> Result<char> {
        let body = &text[1..];
        let first_len = if body.starts_with('\\') {
            // An escape runs until the unquote of `'…'` of growing length succeeds.
            (2..=body.len()).find(|&n| {
                body.get(..n)
                    .is_some_and(|escape| lex::unquote_char(&format!("'{escape}'")).is_some())
            })
        } else {
            body.chars()
                .next()
                .filter(|&c| c != '\'')
                .map(char::len_utf8)
        };
        let Some(len) = first_len else {
            return Err(self.errorf("invalid syntax"));
        };
        let c = lex::unquote_char(&format!("'{}'", &body[..len]))
            .ok_or_else(|| self.errorf("invalid syntax"))?;
        if &body[len..] != "'" {
            return Err(self.errorf(format!("malformed character constant: {text}")));
        }
        Ok(c)
    }

    fn number(&self, pos: usize, text: &str, typ: ItemType) -> Result<Number> {
        let mut n = Number {
            pos,
            text: text.to_string(),
            is_int: false,
            is_uint: false,
            is_float: false,
            is_complex: false,
            int: 0,
            uint: 0,
            float: 0.0,
            complex: (0.0, 0.0),
        };
        if typ == ItemType::CharConstant {
            let c = self.char_constant(text)?;
            n.is_int = true;
            n.is_uint = true;
            n.is_float = true;
            n.int = c as i64;
            n.uint = c as u64;
            n.float = c as u32 as f64;
            return Ok(n);
        }
        if typ == ItemType::Complex {
            let pair = scan_complex(text).map_err(|msg| self.errorf(msg))?;
            n.set_complex(pair);
            return Ok(n);
        }
        // An imaginary constant (`3i`) is complex when its float part parses; otherwise the
        // text falls through to the tests below, which all fail on the `i`, as in Go.
        if let Some(im) = text.strip_suffix('i').and_then(parse_float) {
            n.set_complex((0.0, im));
            return Ok(n);
        }
        let u = parse_uint(text);
        if let Some(u) = u {
            n.is_uint = true;
            n.uint = u;
        }
        if let Some(i) = parse_int(text) {
            n.is_int = true;
            n.int = i;
            if i == 0 {
                n.is_uint = true; // -0
                n.uint = 0;
            }
        }
        if n.is_int {
            n.is_float = true;
            n.float = n.int as f64;
        } else if n.is_uint {
            n.is_float = true;
            n.float = n.uint as f64;
        } else if let Some(f) = parse_float(text) {
            // Looks like an integer but did not fit: Go rejects it.
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(self.errorf(format!("integer overflow: {}", quote(text))));
            }
            n.is_float = true;
            n.float = f;
            let two_63 = 2f64.powi(63);
            if f.fract() == 0.0 && (-two_63..two_63).contains(&f) {
                n.is_int = true;
                n.int = f as i64;
            }
            if f.fract() == 0.0 && (0.0..2f64.powi(64)).contains(&f) {
                n.is_uint = true;
                n.uint = f as u64;
            }
        }
        if !n.is_int && !n.is_uint && !n.is_float {
            return Err(self.errorf(format!("illegal number syntax: {}", quote(text))));
        }
        Ok(n)
    }
}

fn new_variable(pos: usize, name: &str) -> Variable {
    Variable {
        pos,
        idents: name.split('.').map(str::to_string).collect(),
    }
}

fn split_fields(field: &str) -> Vec<String> {
    field[1..].split('.').map(str::to_string).collect()
}

/// Go's `parse.IsEmptyTree`: only blank text and comments.
pub fn is_empty_tree(list: &List) -> bool {
    list.nodes.iter().all(|n| match n {
        Node::Text { text, .. } => GoStr::Raw(text)
            .runes()
            .all(|r| matches!(r, Rune::Char(c) if c.is_whitespace())),
        Node::Comment { .. } => true,
        _ => false,
    })
}

impl Number {
    /// Go's `newNumber` plus `simplifyComplex`: a complex constant whose imaginary part is zero
    /// is also a float, and an int or uint when the float converts back exactly.
    fn set_complex(&mut self, (re, im): (f64, f64)) {
        self.is_complex = true;
        self.complex = (re, im);
        self.is_float = im == 0.0;
        if !self.is_float {
            return;
        }
        self.float = re;
        // Go's `float64(int64(f)) == f`: conversions out of range are not exact.
        let two_63 = 2f64.powi(63);
        self.is_int = re.fract() == 0.0 && (-two_63..two_63).contains(&re);
        if self.is_int {
            self.int = re as i64;
        }
        self.is_uint = re.fract() == 0.0 && (0.0..2f64.powi(64)).contains(&re);
        if self.is_uint {
            self.uint = re as u64;
        }
    }
}

/// Go's `fmt.Sscan` into a `complex128`, as `newNumber` uses it on a `1+2i` token: a float, a
/// sign, a float, then `i`. The error is the one Sscan would give.
fn scan_complex(text: &str) -> std::result::Result<(f64, f64), String> {
    const SYNTAX: &str = "syntax error scanning complex number";
    let (real, rest) = float_token(text);
    let Some(sign) = rest.chars().next().filter(|c| matches!(c, '+' | '-')) else {
        return Err(SYNTAX.into());
    };
    let (imag, rest) = float_token(&rest[1..]);
    if !rest.starts_with('i') {
        return Err(SYNTAX.into());
    }
    let re = convert_float(real)?;
    let im = convert_float(&format!("{sign}{imag}"))?;
    Ok((re, im))
}

/// Go's `fmt` `floatToken`: the longest prefix that looks like a float (sign, `0x` prefix,
/// digits and underscores, a fraction, an exponent). Returns it and what follows.
fn float_token(s: &str) -> (&str, &str) {
    let b = s.as_bytes();
    let mut i = 0;
    let accept = |i: &mut usize, set: &[u8]| {
        let ok = *i < b.len() && set.contains(&b[*i]);
        if ok {
            *i += 1;
        }
        ok
    };
    accept(&mut i, b"+-");
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eEpP";
    if accept(&mut i, b"0") && accept(&mut i, b"xX") {
        digits = b"0123456789aAbBcCdDeEfF_";
        exp = b"pP";
    }
    while accept(&mut i, digits) {}
    if accept(&mut i, b".") {
        while accept(&mut i, digits) {}
    }
    if accept(&mut i, exp) {
        accept(&mut i, b"+-");
        while accept(&mut i, b"0123456789_") {}
    }
    s.split_at(i)
}

/// Go's `fmt` `convertFloat` on the tokens the lexer lets through: `strconv.ParseFloat`, with
/// its error. (Its decimal-mantissa `p` exponent cannot occur: the lexer refuses `1p4`.)
fn convert_float(token: &str) -> std::result::Result<f64, String> {
    parse_float_checked(token)
        .map_err(|why| format!("strconv.ParseFloat: parsing {}: {why}", quote(token)))
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
fn parse_uint(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    parse_magnitude(s)
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_magnitude(rest)?;
    if neg {
        (u <= 1 << 63).then(|| (u as i64).wrapping_neg())
    } else {
        i64::try_from(u).ok()
    }
}

/// An unsigned integer with Go's base prefixes (`0x`, `0o`, `0b`, or a leading `0` for octal)
/// and underscores between digits.
fn parse_magnitude(s: &str) -> Option<u64> {
    if s.contains('_') && !underscores_ok(s) {
        return None;
    }
    let b = s.as_bytes();
    let (digits, base) = match b {
        [b'0', p, ..] if p | 0x20 == b'x' => (&s[2..], 16),
        [b'0', p, ..] if p | 0x20 == b'o' => (&s[2..], 8),
        [b'0', p, ..] if p | 0x20 == b'b' => (&s[2..], 2),
        [b'0', _, ..] => (&s[1..], 8),
        _ => (s, 10),
    };
    let mut v: u64 = 0;
    let mut any = false;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(base)?;
        v = v.checked_mul(base as u64)?.checked_add(d as u64)?;
        any = true;
    }
    any.then_some(v)
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms the lexer lets through (decimal and hex floats,
/// underscores between digits). Out-of-range values are errors, as in Go.
fn parse_float(s: &str) -> Option<f64> {
    parse_float_checked(s).ok()
}

/// `parse_float` with `strconv.ParseFloat`'s reason for failing.
fn parse_float_checked(s: &str) -> std::result::Result<f64, &'static str> {
    const SYNTAX: &str = "invalid syntax";
    if s.contains('_') && !underscores_ok(s) {
        return Err(SYNTAX);
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, &clean[..]),
    };
    let v = if body.len() > 2 && (body.starts_with("0x") || body.starts_with("0X")) {
        parse_hex_float(&body[2..]).ok_or(SYNTAX)?
    } else if body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        body.parse::<f64>().map_err(|_| SYNTAX)?
    } else {
        return Err(SYNTAX);
    };
    if v.is_infinite() {
        return Err("value out of range");
    }
    Ok(if neg { -v } else { v })
}

/// Go's `underscoreOK`: underscores only between digits or after a base prefix.
fn underscores_ok(s: &str) -> bool {
    let b = s.trim_start_matches(['+', '-']).as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'x' | b'b' | b'o') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

/// A hex float `1.8p1`: mantissa digits and a binary exponent, rounded once to nearest-even.
fn parse_hex_float(s: &str) -> Option<f64> {
    let i = s.find(['p', 'P'])?; // Go requires the exponent for hex floats.
    let (mant, exp) = (&s[..i], s[i + 1..].parse::<i32>().ok()?);
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut bits: u128 = 0;
    let mut exp2 = exp - 4 * frac_part.len() as i32;
    let mut sticky = false;
    for c in int_part.chars().chain(frac_part.chars()) {
        let d = c.to_digit(16)? as u128;
        if bits >> 120 == 0 {
            bits = bits << 4 | d;
        } else {
            sticky |= d != 0;
            exp2 += 4;
        }
    }
    if bits == 0 {
        return Some(0.0);
    }
    bits |= sticky as u128;
    // Keep 53 significant bits (fewer for subnormals), round the rest to nearest-even.
    let top = 127 - bits.leading_zeros() as i32;
    let exponent = top + exp2;
    let keep = if exponent < -1022 {
        52 - (-1022 - exponent)
    } else {
        52
    };
    let shift = top - keep;
    let mut m = if shift > 0 {
        bits >> shift
    } else {
        bits << -shift
    };
    if shift > 0 {
        let rest = bits & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        if rest > half || (rest == half && m & 1 == 1) {
            m += 1;
        }
    }
    Some(m as f64 * pow2(exp2 + shift))
}

/// 2^e without overflowing `powi` in the intermediate steps.
fn pow2(e: i32) -> f64 {
    if e > 1000 {
        2f64.powi(1000) * 2f64.powi(e - 1000)
    } else if e < -1000 {
        2f64.powi(-1000) * 2f64.powi(e + 1000)
    } else {
        2f64.powi(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::FuncMap;

    fn parse_err(text: &str) -> String {
        match parse("t", text.as_bytes(), "", "", &FuncMap::new()) {
            Ok(_) => panic!("{text:?} parsed"),
            Err(e) => e.0,
        }
    }

    /// The number literal that makes up the template `{{TEXT}}`.
    fn number(text: &str) -> super::Number {
        let src = format!("{{{{{text}}}}}");
        let trees = parse("t", src.as_bytes(), "", "", &FuncMap::new()).expect("parses");
        match &trees["t"].root.nodes[..] {
            [super::Node::Action { pipe, .. }] => match &pipe.cmds[0].args[0] {
                super::Arg::Number(n) => n.clone(),
                other => panic!("{text:?}: not a number: {other:?}"),
            },
            other => panic!("{text:?}: not one action: {other:?}"),
        }
    }

    /// Rows of Go 1.23's `parse_test.go` `numberTests` with complex values: the flags
    /// (int, uint, float, complex) and values `simplifyComplex` leaves.
    #[test]
    fn complex_numbers_are_simplified_as_in_go() {
        type Row = (&'static str, [bool; 4], i64, u64, f64, (f64, f64));
        let rows: [Row; 7] = [
            ("4i", [false, false, false, true], 0, 0, 0.0, (0.0, 4.0)),
            (
                "-1.2+4.2i",
                [false, false, false, true],
                0,
                0,
                0.0,
                (-1.2, 4.2),
            ),
            ("073i", [false, false, false, true], 0, 0, 0.0, (0.0, 73.0)),
            ("0i", [true, true, true, true], 0, 0, 0.0, (0.0, 0.0)),
            (
                "-1.2+0i",
                [false, false, true, true],
                0,
                0,
                -1.2,
                (-1.2, 0.0),
            ),
            (
                "-12+0i",
                [true, false, true, true],
                -12,
                0,
                -12.0,
                (-12.0, 0.0),
            ),
            ("13+0i", [true, true, true, true], 13, 13, 13.0, (13.0, 0.0)),
        ];
        for (text, flags, int, uint, float, complex) in rows {
            let n = number(text);
            let got = [n.is_int, n.is_uint, n.is_float, n.is_complex];
            assert_eq!(got, flags, "{text}: int, uint, float, complex");
            assert_eq!(
                (n.int, n.uint, n.float, n.complex),
                (int, uint, float, complex),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_complex_constants_give_gos_errors() {
        assert_eq!(
            parse_err("{{1+2}}"),
            "template: t:1: bad number syntax: \"1+2\""
        );
        assert_eq!(
            parse_err("{{0x10+1i}}"),
            "template: t:1: strconv.ParseFloat: parsing \"0x10\": invalid syntax"
        );
        assert_eq!(
            parse_err("{{1+1e400i}}"),
            "template: t:1: strconv.ParseFloat: parsing \"+1e400\": value out of range"
        );
        assert_eq!(
            parse_err("{{0x3i}}"),
            "template: t:1: illegal number syntax: \"0x3i\""
        );
    }

    fn root(text: &str) -> String {
        let trees = parse("t", text.as_bytes(), "", "", &FuncMap::new()).expect("parses");
        trees["t"].root.to_string()
    }

    #[test]
    fn errors_name_the_line_and_token() {
        assert_eq!(parse_err("a\nb{{.x"), "template: t:2: unclosed action");
        assert_eq!(
            parse_err("{{nope 1}}"),
            "template: t:1: function \"nope\" not defined"
        );
        assert_eq!(
            parse_err("\n\n{{$y}}"),
            "template: t:3: undefined variable \"$y\""
        );
        assert_eq!(parse_err("{{end}}"), "template: t:1: unexpected {{end}}");
        assert_eq!(
            parse_err("{{if}}x{{end}}"),
            "template: t:1: missing value for if"
        );
        assert_eq!(
            parse_err("{{break}}"),
            "template: t:1: {{break}} outside {{range}}"
        );
        assert_eq!(
            parse_err("{{1 | 2}}"),
            "template: t:1: non executable command in pipeline stage 2"
        );
        assert_eq!(
            parse_err("{{range $a, $b, $c := .}}{{end}}"),
            "template: t:1: too many declarations in range"
        );
        // Long tokens are quoted to ten characters.
        assert_eq!(
            parse_err("{{print \"abcdefghijklmnop\" )}}"),
            "template: t:1: unexpected right paren"
        );
        assert_eq!(
            parse_err("{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}"),
            "template: t:1: template: multiple definition of template \"a\""
        );
    }

    #[test]
    fn else_chains_and_variables_parse_as_go_prints_them() {
        assert_eq!(
            root("{{if .a}}1{{else if .b}}2{{else}}3{{end}}"),
            "{{if .a}}1{{else}}{{if .b}}2{{else}}3{{end}}{{end}}"
        );
        assert_eq!(
            root("{{with $x := .a}}{{$x.b}}{{else with .c}}c{{end}}"),
            "{{with $x := .a}}{{$x.b}}{{else}}{{with .c}}c{{end}}{{end}}"
        );
        assert_eq!(
            root("{{range $i, $e := .l}}{{$i}}{{end}}"),
            "{{range $i, $e := .l}}{{$i}}{{end}}"
        );
        assert_eq!(
            root("{{(.a).b | printf \"%v\"}}"),
            "{{(.a).b | printf \"%v\"}}"
        );
        assert_eq!(root("{{- 3 -}}  {{-3}}"), "{{3}}{{-3}}");
        assert_eq!(
            root("{{template \"x\" .}}{{define \"x\"}}{{end}}"),
            "{{template \"x\" .}}"
        );
    }

    use super::*;

    #[test]
    fn integers_follow_go() {
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("017"), Some(15));
        assert_eq!(parse_int("0o17"), Some(15));
        assert_eq!(parse_int("0b101"), Some(5));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("1__000"), None);
        assert_eq!(parse_int("0x_1F"), Some(31));
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_uint("9223372036854775808"), Some(1 << 63));
        assert_eq!(parse_int("08"), None);
    }

    #[test]
    fn floats_follow_go() {
        assert_eq!(parse_float("1_000.5"), Some(1000.5));
        assert_eq!(parse_float("0x1p4"), Some(16.0));
        assert_eq!(parse_float("0x1.8p1"), Some(3.0));
        assert_eq!(parse_float("1e400"), None);
        assert_eq!(parse_float(".5"), Some(0.5));
        assert_eq!(parse_float("1."), Some(1.0));
    }
}
