#!/usr/bin/perl
# checksrc: the house rules a compiler does not check, modelled on curl's scripts/checksrc.pl.
# Usage: ops/checksrc.pl FILE...   Prints "file:line: message" per finding, then one summary
# line by kind; exits 1 when anything was found, 2 when a file cannot be read.
#
# Rules:
#   banned        functions that have a safer house replacement (the list below says which)
#   assign-cond   an assignment inside the parentheses of if / while / the condition of for:
#                 write `st = f(); if (st != DB_OK)`, so every branch tests a named value
#   history-tag   "issue N" in a comment: comments say why, the history lives in git
#   cpp-comment   a // comment: the tree uses /* */ only
#
# A line that carries the comment /* checksrc: allow */ is not reported; keep it for the rare
# case where the rule is wrong, and say why next to it.
#
# The checker strips comments, string and character literals first (keeping line numbers), so a
# banned name or an "=" inside a string or a comment is never reported.
use strict;
use warnings;

# Each banned function and why.
my %banned = (
	'gets'     => 'no bound at all; use fgets',
	'strcpy'   => 'no bound; use snprintf or xstrdup',
	'strcat'   => 'no bound; use snprintf or a growable buffer',
	'strncat'  => 'the bound is the space left, easy to get wrong; use snprintf',
	'strncpy'  => 'does not NUL-terminate on truncation; use snprintf',
	'sprintf'  => 'no bound; use snprintf',
	'vsprintf' => 'no bound; use vsnprintf',
	'strtok'   => 'keeps hidden state, not thread-safe; use strtok_r or strchr',
	'atoi'     => 'no error report, undefined on overflow; use parse_long',
	'atol'     => 'no error report, undefined on overflow; use parse_long',
	'atoll'    => 'no error report, undefined on overflow; use strtoll with a check',
	'atof'     => 'no error report; use parse_double',
	'system'   => 'runs a shell on its argument; use fork and execv',
	'popen'    => 'runs a shell on its argument; use a pipe, fork and execv',
	'tmpnam'   => 'the name can be taken before it is opened; use mkstemp',
	'tempnam'  => 'the name can be taken before it is opened; use mkstemp',
	'mktemp'   => 'the name can be taken before it is opened; use mkstemp',
	'gmtime'   => 'returns a static buffer, not thread-safe; use gmtime_r',
	'localtime' => 'returns a static buffer, not thread-safe; use localtime_r',
	'ctime'    => 'returns a static buffer, not thread-safe; format with strftime',
	'asctime'  => 'returns a static buffer, not thread-safe; format with strftime',
	'rand'     => 'weak and not the same on every platform; use crypto_random, or a seeded generator of the module',
	'srand'    => 'see rand',
);
my $banned_re = join '|', sort keys %banned;

my %count;    # kind -> findings
my %perfile;  # file -> kind -> findings
my $unreadable = 0;
my @found;    # [line, text] of the file being checked, printed in line order

sub report {
	my ($file, $line, $kind, $msg, $allowed) = @_;
	return if $allowed->{$line};
	push @found, [$line, "$file:$line: $msg [$kind]\n"];
	$count{$kind}++;
	$perfile{$file}{$kind}++;
}

# Returns (code, comments): the text with comments and literals blanked to spaces, and the
# comments alone (everything else blanked), both with the newlines of the original.
sub split_source {
	my ($src) = @_;
	my ($code, $comm) = ('', '');
	my $n = length $src;
	my $i = 0;
	while ($i < $n) {
		my $c = substr($src, $i, 1);
		my $d = substr($src, $i, 2);
		if ($d eq '/*') {
			my $end = index($src, '*/', $i + 2);
			$end = $n - 2 if $end < 0;
			my $t = substr($src, $i, $end + 2 - $i);
			(my $blank = $t) =~ s/[^\n]/ /g;
			$code .= $blank;
			$comm .= $t;
			$i = $end + 2;
		} elsif ($d eq '//') {
			my $end = index($src, "\n", $i);
			$end = $n if $end < 0;
			my $t = substr($src, $i, $end - $i);
			# Kept as "//" in the code so the cpp-comment rule sees it; the rest is blanked.
			$code .= '//' . (' ' x (length($t) - 2));
			$comm .= $t;
			$i = $end;
		} elsif ($c eq '"' || $c eq "'") {
			my $j = $i + 1;
			while ($j < $n) {
				my $e = substr($src, $j, 1);
				last if $e eq $c || $e eq "\n";
				$j++ if $e eq '\\';
				$j++;
			}
			my $t = substr($src, $i, $j + 1 - $i);
			(my $blank = $t) =~ s/[^\n]/ /g;
			$blank = $c . substr($blank, 1, -1) . $c if length $t >= 2;
			$code .= $blank;
			(my $cb = $t) =~ s/[^\n]/ /g;
			$comm .= $cb;
			$i = $j + 1;
		} else {
			$code .= $c;
			$comm .= $c eq "\n" ? "\n" : ' ';
			$i++;
		}
	}
	return ($code, $comm);
}

sub line_of {
	my ($text, $pos) = @_;
	return 1 + (substr($text, 0, $pos) =~ tr/\n//);
}

# True when the text (a condition, literals already blanked) assigns: an "=" that is not part of
# ==, !=, <=, >=. Compound assignments (+=, <<= ...) count as assignments.
sub assigns {
	my ($t) = @_;
	$t =~ s/==//g;
	$t =~ s/<<=|>>=/ ASSIGN /g;
	$t =~ s/[!<>]=//g;
	return $t =~ /=/ || $t =~ /ASSIGN/;
}

sub check_conditions {
	my ($file, $code, $allowed) = @_;
	while ($code =~ /\b(if|while|for)\s*\(/g) {
		my $kw = $1;
		my $open = pos($code) - 1;
		my ($depth, $j, $n) = (0, $open, length $code);
		my @semis;
		for (; $j < $n; $j++) {
			my $c = substr($code, $j, 1);
			if ($c eq '(') {
				$depth++;
			} elsif ($c eq ')') {
				$depth--;
				last if $depth == 0;
			} elsif ($c eq ';' && $depth == 1) {
				push @semis, $j;
			}
		}
		my $inside = substr($code, $open + 1, $j - $open - 1);
		if ($kw eq 'for') {
			# Only the condition of for: the initialisation and the step assign by design.
			next unless @semis == 2;
			$inside = substr($code, $semis[0] + 1, $semis[1] - $semis[0] - 1);
		}
		next unless assigns($inside);
		report($file, line_of($code, $open), 'assign-cond',
		       "assignment inside the condition of $kw: assign first, then test", $allowed);
	}
}

sub check_file {
	my ($file) = @_;
	my $fh;
	unless (open $fh, '<', $file) {
		print STDERR "checksrc: cannot read $file: $!\n";
		$unreadable++;
		return;
	}
	local $/;
	my $src = <$fh>;
	close $fh;
	my ($code, $comm) = split_source($src);

	my %allowed;
	my $ln = 0;
	for my $l (split /\n/, $src, -1) {
		$ln++;
		$allowed{$ln} = 1 if $l =~ m{/\*\s*checksrc:\s*allow\b};
	}

	my @code = split /\n/, $code, -1;
	my @comm = split /\n/, $comm, -1;
	for my $k (0 .. $#code) {
		my $l = $code[$k];
		while ($l =~ /\b($banned_re)\s*\(/g) {
			report($file, $k + 1, 'banned', "$1() is banned: $banned{$1}", \%allowed);
		}
		report($file, $k + 1, 'cpp-comment', 'a // comment: use /* */', \%allowed) if $l =~ m{//};
		my $c = $comm[$k] // '';
		if ($c =~ /\(?\bissues?\s+#?\d+/i) {
			report($file, $k + 1, 'history-tag',
			       'history tag in a comment: say why, the history is in git', \%allowed);
		}
	}
	check_conditions($file, $code, \%allowed);
	print map { $_->[1] } sort { $a->[0] <=> $b->[0] } @found;
	@found = ();
}

check_file($_) for @ARGV;

my $total = 0;
$total += $_ for values %count;
if ($total) {
	my $kinds = join ', ', map { "$count{$_} $_" } sort keys %count;
	my $files = scalar keys %perfile;
	print "checksrc: $total finding(s) in $files file(s): $kinds\n";
} else {
	printf "checksrc: %d file(s) clean\n", @ARGV - $unreadable;
}
exit 2 if $unreadable;
exit($total ? 1 : 0);
