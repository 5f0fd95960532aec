import { commandSpecs, type CommandSpec, type OptionSpec } from '../command-specs.js';
import type { Context } from '../context.js';
import { InputError, type ExitCode } from '../errors.js';

/** `ascendctl completion bash|zsh`: completion scripts generated from the parser's own definitions. */
export default async function completion(ctx: Context, args: string[]): Promise<ExitCode> {
  const shell = args[0];
  const specs = commandSpecs();
  if (shell === 'bash') ctx.out.write(bashScript(specs));
  else if (shell === 'zsh') ctx.out.write(zshScript(specs));
  else throw new InputError(`completion ${shell ?? ''}: expected bash or zsh`, { hint: 'eval "$(ascendctl completion bash)" in ~/.bashrc, or ascendctl completion zsh > "${fpath[1]}/_ascendctl"' });
  return 0;
}

/** Values that name files (`--inventory <file>`, `--out <dir>`, `--image-archive <file>`). */
function completesFiles(o: OptionSpec): boolean {
  return /file|dir|path/.test(o.valueName);
}

/** Deployment files are YAML; a command whose positional is a shell name (completion) offers those instead. */
function positionalWords(spec: CommandSpec): string[] | undefined {
  return spec.argument?.choices;
}

export function bashScript(specs: CommandSpec[]): string {
  const perCommand = specs.map((s) => {
    const flags = [...s.options.flatMap((o) => o.flags), '--help'].join(' ');
    const valueFlags = s.options.filter((o) => o.takesValue && !completesFiles(o) && !o.choices).flatMap((o) => o.flags).join(' ');
    const words = positionalWords(s);
    return `    ${s.name}) opts="${flags}"; values="${valueFlags}"; words="${words?.join(' ') ?? ''}"; positional=${s.argument ? 1 : 0} ;;`;
  }).join('\n');
  const fileFlags = [...new Set(specs.flatMap((s) => s.options.filter(completesFiles).flatMap((o) => o.flags)))];
  const choiceCases = [...new Map(specs.flatMap((s) => s.options.filter((o) => o.choices).map((o) => [o.flags.join('|'), o.choices!] as const)))]
    .map(([flags, choices]) => `    ${flags}) COMPREPLY=( $(compgen -W "${choices.join(' ')}" -- "$cur") ); return ;;`).join('\n');
  return `# bash completion for ascendctl — eval "$(ascendctl completion bash)"
_ascendctl() {
  local cur prev cmd opts values words positional
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${specs.map((s) => s.name).join(' ')} --help --version --verbose" -- "$cur") )
    return
  fi
  case "$prev" in
${fileFlags.length > 0 ? `    ${fileFlags.join('|')}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;\n` : ''}${choiceCases}
  esac
  case "$cmd" in
${perCommand}
    *) opts=""; values=""; words=""; positional=0 ;;
  esac
  if [ -n "$values" ] && [[ " $values " == *" $prev "* ]]; then
    COMPREPLY=()
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  elif [ -n "$words" ]; then
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  elif [ "$positional" -eq 1 ]; then
    COMPREPLY=( $(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur") )
  else
    COMPREPLY=()
  fi
}
complete -o filenames -F _ascendctl ascendctl
`;
}

/** Text inside a single-quoted zsh word: close, escaped quote, reopen. */
function zshQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** An `_arguments` description: a bracket would end it early. */
function zshDescription(text: string): string {
  return text.replace(/[[\]]/g, (c) => (c === '[' ? '(' : ')')).replace(/\s+/g, ' ');
}

function zshOptionSpecs(o: OptionSpec): string[] {
  const desc = zshDescription(o.description);
  const action = o.choices
    ? `:${o.valueName}:(${o.choices.join(' ')})`
    : o.takesValue
      ? `:${o.valueName || 'value'}:${completesFiles(o) ? '_files' : ' '}`
      : '';
  // Repeatable options (--node a --node b) may appear again; the others exclude their own aliases.
  const repeatable = /repeatable/.test(o.description);
  const exclusion = o.flags.length > 1 && !repeatable ? `(${o.flags.join(' ')})` : '';
  return o.flags.map((f) => zshQuote(`${repeatable ? '*' : exclusion}${f}[${desc}]${action}`));
}

export function zshScript(specs: CommandSpec[]): string {
  const commands = specs.map((s) => `    ${zshQuote(`${s.name}:${s.summary}`)}`).join('\n');
  const cases = specs.map((s) => {
    const words = positionalWords(s);
    const positional = !s.argument
      ? []
      : words
        ? [zshQuote(`1:${s.argument.name}:(${words.join(' ')})`)]
        : [zshQuote(`1:${s.argument.name}:_files -g "*.(yaml|yml)"`)];
    const args = [...s.options.flatMap(zshOptionSpecs), zshQuote('--help[show help]'), ...positional];
    return `    ${s.name})\n      _arguments -s \\\n        ${args.join(' \\\n        ')}\n      ;;`;
  }).join('\n');
  return `#compdef ascendctl
# zsh completion for ascendctl — ascendctl completion zsh > "\${fpath[1]}/_ascendctl" (or: source <(ascendctl completion zsh))
_ascendctl() {
  local -a commands
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'ascendctl command' commands
    return
  fi
  local cmd="\${words[2]}"
  shift words
  (( CURRENT-- ))
  case "$cmd" in
${cases}
  esac
}
# Autoloaded from $fpath this file is the function's body: complete now. Sourced: register the function.
if [ "\${funcstack[1]}" = "_ascendctl" ]; then
  _ascendctl "$@"
else
  compdef _ascendctl ascendctl
fi
`;
}
